"""Health over time for plots: per step, the counters of that step and the verdict they give.

A step's verdict uses the window rules only (error rate, latency, min_events): sustain, recovery,
silence, consecutive failures and burn rate describe the present, not a past step.
"""

import math
from datetime import UTC, datetime

from shared.errors import BadRequest
from shared.model.health import HistoryPoint
from shared.model.policy import EffectivePolicy
from shared.model.rules import Inputs, evaluate
from shared.model.stats import StagedStats, Stats
from shared.model.time_slots import LEVELS, Level
from shared.services.counters import Counters
from shared.settings import Settings
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions

MAX_POINTS = 1000


def level_dividing(step_s: int) -> Level:
    """The coarsest counter resolution whose slots tile a step exactly."""
    return max((lv for lv in LEVELS if step_s % lv.slot_s == 0), key=lambda lv: lv.slot_s)


class HistoryReader:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._partitions = partitions
        self._client = client
        self._settings = settings

    async def read(
        self, system_id: int, policy: EffectivePolicy, start: datetime, end: datetime, step_s: int
    ) -> list[HistoryPoint]:
        first = math.floor(start.timestamp()) // step_s * step_s
        last = math.floor(end.timestamp())
        points = (last - first) // step_s + 1
        if points > MAX_POINTS:
            raise BadRequest(
                f"{points} points asked; at most {MAX_POINTS} (raise `step` or narrow the range)",
            )
        level = level_dividing(step_s)
        counters = Counters(await self._partitions.of(system_id), system_id)
        counters.need_series(level, first, last)
        pipe = self._client.pipeline(transaction=False)
        order = counters.queue(pipe)
        counters.store(order, await pipe.execute())

        steps: dict[int, Stats] = {first + i * step_s: Stats() for i in range(points)}
        for slot_start, stats in counters.series(level, first, last):
            steps[slot_start - (slot_start - first) % step_s].merge(stats)
        window_only = policy.model_copy(
            update={
                "sustain_seconds": 0, "recovery_seconds": 0, "burn_rate": None,
                "expected_interval_seconds": None, "consecutive_failures": None,
                "window_seconds": step_s,
            }
        )  # fmt: skip
        out = []
        for at, stats in steps.items():
            verdict, reason, _ = evaluate(
                Inputs(window_only, at + step_s, StagedStats(all=stats), None, 0.0)
            )
            p50, p95, p99 = stats.quantiles(0.5, 0.95, 0.99)
            out.append(
                HistoryPoint(
                    at=datetime.fromtimestamp(at, UTC),
                    total=stats.total,
                    errors=stats.errors,
                    error_rate=stats.error_rate,
                    p50_latency=p50,
                    p95_latency=p95,
                    p99_latency=p99,
                    health=verdict,
                    reason=reason,
                )
            )
        return out
