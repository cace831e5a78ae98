"""The dependency graph between systems, and what a failing upstream means for a downstream.

An edge runs from an upstream to the systems that depend on it (its downstreams): in
extract → transform → load, extract is transform's upstream. The graph has no cycle (the store
refuses an edge that would close one, shared/store/lua/dependencies.lua), so every walk ends.

A system *fails* when its verdict is UNHEALTHY, which includes silence past its grace (the
silence rule sets UNHEALTHY). The upstreams a downstream's answer names are the failing *roots*
of its upstream closure: the failing upstreams (direct or transitive) none of whose own
upstreams fail. In the chain above, with extract and transform failing, load names extract only:
transform's failure is explained by extract's. A system whose answer names no upstream and
whose verdict is not OK is a *root* of the fleet (`GET /health?roots=1`).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.model.verdict import Verdict

FAILING = Verdict.UNHEALTHY


class UpstreamFailure(BaseModel):
    """A failing upstream named by a downstream's answer."""

    model_config = ConfigDict(frozen=True)  # a part of the overview's lines, which are hashed

    system_id: int
    name: str
    health: Verdict
    since: datetime | None = Field(description="When its failing verdict began")


@dataclass(frozen=True, slots=True)
class Failing:
    """What a walk needs to know of one system's recorded verdict."""

    verdict: Verdict
    since_ms: int | None


@dataclass(frozen=True)
class Graph:
    """One version of the graph: each system's direct upstreams and direct downstreams."""

    version: int = 0
    upstreams: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    downstreams: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    def has_upstreams(self, system_id: int) -> bool:
        """The one cheap check that leaves systems without dependencies alone."""
        return system_id in self.upstreams

    def upstream_closure(self, system_id: int) -> list[int]:
        """Every upstream, direct or transitive, nearest first."""
        return _walk(self.upstreams, system_id)

    def downstream_closure(self, system_id: int) -> list[int]:
        """Every downstream, direct or transitive, nearest first."""
        return _walk(self.downstreams, system_id)

    def edges(self) -> list[tuple[int, int]]:
        """Every edge as (upstream, downstream), in order."""
        return sorted((up, down) for down, ups in self.upstreams.items() for up in ups)


def _walk(edges: Mapping[int, tuple[int, ...]], start: int) -> list[int]:
    seen, order, frontier = {start}, [], [start]
    while frontier:
        following = []
        for at in frontier:
            for nxt in edges.get(at, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    order.append(nxt)
                    following.append(nxt)
        frontier = following
    return order


def failing_roots(
    graph: Graph, system_id: int, recorded: Callable[[int], Failing | None]
) -> list[int]:
    """The failing roots of the system's upstream closure (see the module's docstring), by id;
    `recorded` gives a system's verdict (None: none recorded, taken as not failing)."""
    if not graph.has_upstreams(system_id):
        return []
    closure = graph.upstream_closure(system_id)
    failing = {u for u in closure if (r := recorded(u)) is not None and r.verdict is FAILING}
    return sorted(u for u in failing if not any(up in failing for up in graph.upstream_closure(u)))


def _at(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def failures(
    roots: Iterable[int], recorded: Callable[[int], Failing | None], names: Mapping[int, str]
) -> list[UpstreamFailure]:
    out = []
    for u in roots:
        r = recorded(u)
        if r is not None:
            name = names.get(u, f"system {u}")
            out.append(UpstreamFailure(system_id=u, name=name, health=r.verdict,
                                       since=_at(r.since_ms)))  # fmt: skip
    return out


def _since_text(since: datetime | None) -> str:
    return "" if since is None else " since " + since.strftime("%Y-%m-%dT%H:%M:%SZ")


def annotated(reason: str, upstream: Iterable[UpstreamFailure]) -> str:
    """The reason of a downstream's answer, naming its failing upstreams."""
    named = [f"upstream {u.name} (id {u.system_id}) {u.health.value}{_since_text(u.since)}"
             for u in upstream]  # fmt: skip
    return "; ".join([reason, *named]) if named else reason


def held_reason(upstream: Iterable[UpstreamFailure]) -> str:
    """Why a downstream's notification is held ('' when it is not)."""
    return "; ".join(f"upstream {u.name} ({u.system_id}) is {u.health.value}" for u in upstream)
