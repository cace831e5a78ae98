"""The fleet overview: every system's verdict, worst first, filtered and paged.

Verdicts come from what the jobs' evaluator recorded (shared/services/verdicts.py), one read a
partition whatever the fleet's size, each with the time it was evaluated (an evaluator that
falls behind shows as old `evaluated_at` times, never as a slow overview). A system with no
recorded verdict yet (new, or the jobs not running) is read live, up to MAX_LIVE_READS per
answer; beyond that it is listed as NO_DATA "not evaluated yet" without an evaluation time, so
that 10 000 systems registered while the jobs are down do not make one answer 10 000 reads.

The recorded verdicts are read and ordered at most every REFRESH_S per process (a snapshot,
rebuilt at once when this process registered or deleted a system; other processes' changes are
seen by the next one), so a page costs what it returns: the evaluator records them about once a
second anyway, and each line says when it was evaluated. A snapshot past REFRESH_S but younger
than STALE_S still answers while its successor is built in the background, so that answers
await nothing: see `Fleet._current`.
"""

import asyncio
import heapq
import logging
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice

from shared.errors import SystemNotFound
from shared.model.dependencies import (
    Failing,
    Graph,
    UpstreamFailure,
    annotated,
    failing_roots,
    failures,
)
from shared.model.policy import resolve_stored
from shared.model.systems import System
from shared.model.verdict import Verdict
from shared.services.dependencies import Dependencies
from shared.services.health import HealthReader
from shared.services.registry import Registry
from shared.services.verdicts import Recorded, Verdicts
from shared.settings import Settings

log = logging.getLogger("lso.api")

WORST_FIRST = (Verdict.UNHEALTHY, Verdict.DEGRADED, Verdict.NO_DATA, Verdict.OK)
_RANK = {v: i for i, v in enumerate(WORST_FIRST)}
REFRESH_S = 0.5
STALE_S = 2.0  # the oldest snapshot an answer is given from while a new one is built
MAX_LIVE_READS = 100  # systems without a recorded verdict read live for one answer
NOT_EVALUATED = "not evaluated yet"


@dataclass(frozen=True, slots=True)
class Line:
    system_id: int
    name: str
    verdict: Verdict
    reason: str
    since_ms: int | None  # when the recorded verdict began (None: read live, or not evaluated)
    evaluated_ms: int | None  # when the verdict was computed (None: not evaluated yet)
    # The failing upstreams that explain it (shared/model/dependencies.py), named in `reason`
    upstream: tuple[UpstreamFailure, ...] = ()

    @property
    def position(self) -> tuple[int, int]:
        """Its place in the order: worst first, then by id (what a cursor names)."""
        return _RANK[self.verdict], self.system_id


@dataclass(frozen=True)
class Page:
    lines: list[Line]
    next_after: tuple[int, int] | None  # the position to continue after, None at the end


@dataclass(frozen=True)
class _Snapshot:
    built_s: float  # monotonic
    now_ms: int  # the time it was built for
    version: tuple[int, int]  # the registry's (Registry.listing)
    local_changes: int  # the registry's changes through this process, when it was built
    lines: list[Line]  # the fresh recorded verdicts, in order
    by_verdict: dict[Verdict, list[Line]]  # the same, per verdict
    unevaluated: list[System]  # no recorded verdict: read live per request
    by_id: dict[int, tuple[Recorded, Line]]  # what each line was made from

    def failing(self, system_id: int) -> Failing | None:
        """What a walk of the dependency graph needs of a recorded verdict."""
        found = self.by_id.get(system_id)
        return None if found is None else Failing(found[0].verdict, found[0].since_ms)


def _position(line: Line) -> tuple[int, int]:
    return line.position


class Fleet:
    def __init__(
        self,
        registry: Registry,
        verdicts: Verdicts,
        reader: HealthReader,
        settings: Settings,
        dependencies: Dependencies | None = None,
    ) -> None:
        self._registry = registry
        self._dependencies = dependencies
        self._verdicts = verdicts
        self._reader = reader
        self._settings = settings
        self._snapshot: _Snapshot | None = None
        self._rebuilding: asyncio.Task[None] | None = None

    async def overview(
        self,
        sees: Callable[[int], bool] | None,
        now: datetime,
        *,
        verdict: Verdict | None = None,
        prefix: str | None = None,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
        roots: bool = False,
    ) -> Page:
        """The systems `sees` admits (None: all), worst first then by id, of `verdict` and with
        names that start with `prefix` when given, from the one after `after`, at most
        `limit`; with `roots`, only those not OK that no failing upstream explains. Each line
        names its failing upstreams (`upstream`, and in its reason)."""
        snap = await self._current(now)
        graph = Graph() if self._dependencies is None else await self._dependencies.graph()

        def explained(line: Line) -> Line:
            if not graph.has_upstreams(line.system_id):  # the common case: one dict lookup
                return line
            found = failing_roots(graph, line.system_id, snap.failing)
            if not found:
                return line
            names = {u: snap.by_id[u][1].name for u in found if u in snap.by_id}
            upstream = failures(found, snap.failing, names)
            return replace(line, reason=annotated(line.reason, upstream), upstream=tuple(upstream))

        def wanted(line: Line) -> bool:
            return (
                (sees is None or sees(line.system_id))
                and (prefix is None or line.name.startswith(prefix))
                and (after is None or line.position > after)
                and (not roots or (line.verdict is not Verdict.OK
                                   and not explained(line).upstream))
            )  # fmt: skip

        source = snap.lines if verdict is None else snap.by_verdict.get(verdict, [])
        recorded: list[Line]
        if sees is None and prefix is None and not roots:  # the common case: a slice
            start = 0 if after is None else bisect_right(source, after, key=_position)
            recorded = source[start:] if limit is None else source[start : start + limit + 1]
        else:
            recorded = [line for line in source if wanted(line)]
        live = []
        reads = 0
        for system in snap.unevaluated:
            if (sees is None or sees(system.system_id)) and (
                prefix is None or system.name.startswith(prefix)
            ):
                line: Line | None
                if reads < MAX_LIVE_READS:
                    reads += 1
                    line = await self._live(system.system_id, system.name, now)
                else:
                    line = Line(system.system_id, system.name, Verdict.NO_DATA, NOT_EVALUATED,
                                None, None)  # fmt: skip
                if (
                    line is not None
                    and (verdict is None or line.verdict is verdict)
                    and wanted(line)
                ):
                    live.append(line)
        live.sort(key=_position)
        merged = heapq.merge(recorded, live, key=_position)
        if limit is None:
            return Page([explained(line) for line in merged], None)
        lines = [explained(line) for line in islice(merged, limit + 1)]
        if len(lines) > limit:
            return Page(lines[:limit], lines[limit - 1].position)
        return Page(lines, None)

    async def _current(self, now: datetime) -> _Snapshot:
        """The snapshot: as it is while younger than REFRESH_S (in either clock); up to
        STALE_S, as it is while a new one is built in the background; older, or when this
        process registered or deleted a system since, a new one built for this answer."""
        snap = self._snapshot
        if snap is None or snap.local_changes != self._registry.local_changes:
            return await self._rebuild(now)
        age_s = max(time.monotonic() - snap.built_s, abs(_ms(now) - snap.now_ms) / 1000)
        if age_s < REFRESH_S:
            return snap
        if age_s < STALE_S:
            # Under load every await of an answer waits for the other requests' turns (tens of
            # ms each at 1 000 ingest requests/s): an answer that awaits nothing is served in
            # its own few ms, and the snapshot is at most STALE_S old.
            if self._rebuilding is None or self._rebuilding.done():
                self._rebuilding = asyncio.create_task(self._rebuild_quietly(now))
            return snap
        return await self._rebuild(now)

    async def _rebuild_quietly(self, now: datetime) -> None:
        try:
            await self._rebuild(now)
        except Exception:  # the store away: the next answer past STALE_S says so
            log.warning("fleet overview: the snapshot could not be refreshed", exc_info=True)

    async def _rebuild(self, now: datetime) -> _Snapshot:
        local_changes = self._registry.local_changes
        version, systems = await self._registry.listing()
        now_ms = _ms(now)
        snap = self._snapshot
        recorded = await self._verdicts.all()
        before = snap.by_id if snap is not None else {}
        by_id: dict[int, tuple[Recorded, Line]] = {}
        lines, unevaluated = [], []
        reordered = snap is None or snap.version != version
        for system in systems:
            kept = recorded.get(system.system_id)
            if kept is None:
                unevaluated.append(system)
                continue
            old = before.get(system.system_id)
            if old is not None and old[0] is kept and old[1].name == system.name:
                line = old[1]  # unchanged since the last snapshot (Verdicts.all keeps it)
            else:
                line = Line(system.system_id, system.name, kept.verdict, kept.reason,
                            kept.since_ms, kept.evaluated_ms)  # fmt: skip
                reordered = reordered or old is None or old[1].verdict is not line.verdict
            by_id[system.system_id] = (kept, line)
            lines.append(line)
        if reordered or snap is None:
            lines.sort(key=_position)
        else:  # the same systems with the same verdicts: the same order, no sort
            lines = [by_id[line.system_id][1] for line in snap.lines]
        by_verdict: dict[Verdict, list[Line]] = {}
        for line in lines:
            by_verdict.setdefault(line.verdict, []).append(line)
        snap = _Snapshot(time.monotonic(), now_ms, version, local_changes, lines, by_verdict,
                         unevaluated, by_id)  # fmt: skip
        self._snapshot = snap
        return snap

    async def _live(self, system_id: int, name: str, now: datetime) -> Line | None:
        try:
            known = await self._registry.require(system_id)
            policy = resolve_stored(known.policy, self._settings)
        except SystemNotFound:
            return None
        health = await self._reader.read(system_id, policy, known.system.created_at, now)
        return Line(system_id, name, health.health, health.reason, None, _ms(now))


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
