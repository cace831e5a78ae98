"""The fleet overview: every system's verdict, worst first, filtered and paged.

Verdicts come from what the jobs' evaluator recorded (shared/services/verdicts.py), one read a
partition whatever the fleet's size, each with the time it was evaluated. A system with no
recorded verdict (new, or the jobs not running) or one older than `stale_after_s` (the jobs
stopped) is read live, so the overview is never silently out of date; with the jobs running,
that is only the systems registered since their last pass.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared.errors import SystemNotFound
from shared.model.policy import resolve_stored
from shared.model.verdict import Verdict
from shared.services.health import HealthReader
from shared.services.registry import Registry
from shared.services.verdicts import Recorded, Verdicts
from shared.settings import Settings

WORST_FIRST = (Verdict.UNHEALTHY, Verdict.DEGRADED, Verdict.NO_DATA, Verdict.OK)
_RANK = {v: i for i, v in enumerate(WORST_FIRST)}


@dataclass(frozen=True, slots=True)
class Line:
    system_id: int
    name: str
    verdict: Verdict
    reason: str
    since_ms: int | None  # when the recorded verdict began (None: read live)
    evaluated_ms: int  # when the verdict was computed

    @property
    def position(self) -> tuple[int, int]:
        """Its place in the order: worst first, then by id (what a cursor names)."""
        return _RANK[self.verdict], self.system_id


@dataclass(frozen=True)
class Page:
    lines: list[Line]
    next_after: tuple[int, int] | None  # the position to continue after, None at the end


class Fleet:
    def __init__(
        self, registry: Registry, verdicts: Verdicts, reader: HealthReader, settings: Settings
    ) -> None:
        self._registry = registry
        self._verdicts = verdicts
        self._reader = reader
        self._settings = settings
        # Older than three sweeps: the jobs are not evaluating (a sweep evaluates every system).
        self.stale_after_s = max(3 * settings.sweep_interval_s, 30)

    async def overview(
        self,
        sees: Callable[[int], bool],
        now: datetime,
        *,
        verdict: Verdict | None = None,
        prefix: str | None = None,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> Page:
        """The systems `sees` admits, worst first then by id, of `verdict` and with names that
        start with `prefix` when given, from the one after `after`, at most `limit`."""
        recorded = await self._verdicts.all()
        stale_ms = _ms(now) - self.stale_after_s * 1000
        lines = []
        for system in await self._registry.list():
            if not sees(system.system_id):
                continue
            if prefix is not None and not system.name.startswith(prefix):
                continue
            kept = recorded.get(system.system_id)
            if kept is not None and kept.evaluated_ms >= stale_ms:
                line = _line(system.system_id, system.name, kept)
            else:
                live = await self._live(system.system_id, system.name, now)
                if live is None:
                    continue  # deleted meanwhile
                line = live
            if verdict is not None and line.verdict is not verdict:
                continue
            if after is not None and line.position <= after:
                continue
            lines.append(line)
        lines.sort(key=lambda line: line.position)
        if limit is not None and len(lines) > limit:
            return Page(lines[:limit], lines[limit - 1].position)
        return Page(lines, None)

    async def _live(self, system_id: int, name: str, now: datetime) -> Line | None:
        try:
            known = await self._registry.require(system_id)
            policy = resolve_stored(known.policy, self._settings)
        except SystemNotFound:
            return None
        health = await self._reader.read(system_id, policy, known.system.created_at, now)
        return Line(system_id, name, health.health, health.reason, None, _ms(now))


def _line(system_id: int, name: str, kept: Recorded) -> Line:
    return Line(system_id, name, kept.verdict, kept.reason, kept.since_ms, kept.evaluated_ms)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
