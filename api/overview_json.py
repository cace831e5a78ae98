"""The fleet overview's JSON, each line rendered once while it stays the same.

A full overview of 10 000 systems is ~1.7 MB of JSON; building it from dicts cost ~30 ms of
the API's CPU per answer (more under load), while most lines are the same from one answer to
the next (a verdict is re-recorded with a new `evaluated_at` only for the systems evaluated
since). Lines are frozen values, so a line's bytes are kept by the line itself as the key.
"""

from collections.abc import Sequence

import orjson

from shared.model.dependencies import UpstreamFailure
from shared.model.times import iso_ms
from shared.services.fleet import Line

MAX_KEPT = 200_000  # lines; past that the cache starts over (a fleet is re-rendered once)


def line_json(line: Line) -> dict[str, object]:
    """One line of `GET /health` (the Overview schema's SystemVerdict)."""
    since, evaluated = line.since_ms, line.evaluated_ms
    return {"system_id": line.system_id, "name": line.name, "health": line.verdict.value,
            "reason": line.reason, "since": None if since is None else iso_ms(since),
            "evaluated_at": None if evaluated is None else iso_ms(evaluated),
            "upstream": [_upstream(u) for u in line.upstream]}  # fmt: skip


def _upstream(u: UpstreamFailure) -> dict[str, object]:
    since = None if u.since is None else iso_ms(round(u.since.timestamp() * 1000))
    return {"system_id": u.system_id, "name": u.name, "health": u.health.value, "since": since}


class OverviewJson:
    def __init__(self) -> None:
        self._kept: dict[Line, bytes] = {}

    def body(self, lines: Sequence[Line], next_cursor: str | None) -> bytes:
        """`{"systems": [...], "next_cursor": ...}`, as orjson would write it from the dicts."""
        kept = self._kept
        if len(kept) > MAX_KEPT:
            kept.clear()
        parts = []
        for line in lines:
            rendered = kept.get(line)
            if rendered is None:
                rendered = kept[line] = orjson.dumps(line_json(line))
            parts.append(rendered)
        return b'{"systems":[%b],"next_cursor":%b}' % (b",".join(parts), orjson.dumps(next_cursor))
