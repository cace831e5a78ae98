"""docs/configuration.md, rendered from `shared.settings.Settings`: every field as its `LSO_`
variable with its default, the values it accepts and its description.

`python -m lso.config_doc` prints the page; `python -m lso.config_doc --write` writes it to
docs/configuration.md. tests/docs/test_configuration.py fails when the committed page differs
from what this renders, so the page cannot drift from the code.
"""

import argparse
import sys
import types
import typing
from pathlib import Path

import annotated_types
from pydantic.fields import FieldInfo

from shared.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"

HEADER = """\
# Configuration

<!-- Generated from shared/settings.py by `python -m lso.config_doc --write`; do not edit by
hand. tests/docs/test_configuration.py fails when this page and the code differ. -->

Every setting is an environment variable with the `{prefix}` prefix, read once when a process
starts. `lso up` passes its environment on to the processes it starts, so
`LSO_WINDOW_SECONDS=600 scripts/run` configures all of them. A value outside what a setting
accepts, or settings that contradict each other, stop the process at start with a message naming
the variable. Booleans accept `1`/`0`, `true`/`false`, `yes`/`no` and `on`/`off`.

| Variable | Default | Accepts | Meaning |
|---|---|---|---|
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def variable(name: str) -> str:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"{prefix}{name}".upper()


def default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if field.is_required():
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value == "":
        return "empty"
    return f"`{value}`"


def _number(bound: object) -> str:
    """`1e9` as `1000000000`, `0.5` as `0.5`."""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


def _kind(annotation: object) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    names = {bool: "boolean", int: "integer", float: "number", str: "text"}
    if isinstance(annotation, type):
        return names.get(annotation, "secret text" if "Secret" in annotation.__name__ else "text")
    return "text"


def accepts(field: FieldInfo) -> str:
    """The type and the bounds of a field, e.g. `integer, 10 to 86400`."""
    bounds = []
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge):
            bounds.append(f"≥ {_number(rule.ge)}")
        elif isinstance(rule, annotated_types.Gt):
            bounds.append(f"> {_number(rule.gt)}")
        elif isinstance(rule, annotated_types.Le):
            bounds.append(f"≤ {_number(rule.le)}")
        elif isinstance(rule, annotated_types.Lt):
            bounds.append(f"< {_number(rule.lt)}")
    kind = _kind(field.annotation)
    return ", ".join([kind, *bounds]) if bounds else kind


def render() -> str:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    rows = [
        f"| `{variable(name)}` | {default(field)} | {accepts(field)} "
        f"| {_cell(field.description or '')} |"
        for name, field in Settings.model_fields.items()
    ]
    return HEADER.format(prefix=prefix) + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lso.config_doc", description=__doc__)
    parser.add_argument(
        "--write", action="store_true", help=f"write the page to {DOC} instead of printing it"
    )
    args = parser.parse_args(argv)
    if args.write:
        DOC.write_text(render())
        print(f"wrote {DOC}")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
