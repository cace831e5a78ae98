"""Links between the pages (README.md, docs/, bench/README.md) lead somewhere: the file exists,
and a `#fragment` names a heading of it (GitHub's anchors)."""

import re
from pathlib import Path

import pytest

from tests.docs.test_examples import PAGES, REPO

LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
    return {anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists()], ids=lambda p: p.name)
def test_every_relative_link_of_the_page_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        missing = not linked.exists()
        if missing or (fragment and linked.suffix == ".md" and fragment not in anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: links that lead nowhere: {broken}"


def test_anchors_are_githubs() -> None:
    assert anchor("Processes (`lso up`)") == "processes-lso-up"
    assert anchor("Scaling out: workers, one server, a cluster") == (
        "scaling-out-workers-one-server-a-cluster"
    )


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if p.exists() and p.name != "architecture.md"],
    ids=lambda p: p.name,
)
def test_every_file_the_page_names_exists(page: Path) -> None:
    """`tests/system/test_up.py`-like names in code spans are files of the repository.
    (docs/architecture.md is left out: its owner keeps its module map.)"""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
    named = re.findall(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|md|yml|lua|toml|sh))`", text)
    missing = sorted({n for n in named if not ((REPO / n).exists() or (page.parent / n).exists())})
    assert not missing, f"{page.relative_to(REPO)} names files that do not exist: {missing}"
