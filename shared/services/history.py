"""Health over time for plots: per step, the counters of that step and the verdict they give.

A step's verdict is the live verdict's rules (shared/model/rules.py) as they stood at the step's
end, with the step as the window: error rate, latency and min_events on the step's events;
sustain and recovery on the steps before it as their sub-windows (an unhealthy condition is
UNHEALTHY only once it has held `sustain_seconds`, DEGRADED until then, as the live answer and
its transitions say); silence from the last step that had events (or the registration). Burn
rate and consecutive failures need the raw events or hours around each step, so they judge the
current step only, whose verdict is the live one when the range reaches the present.
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
from shared.services.health import HealthReader
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
        self._live = HealthReader(client, settings, partitions)

    async def read(
        self,
        system_id: int,
        policy: EffectivePolicy,
        start: datetime,
        end: datetime,
        step_s: int,
        created_at: datetime | None = None,
        now: datetime | None = None,
    ) -> list[HistoryPoint]:
        """One point per step from `start` to `end` (see the module's docstring for the
        verdicts). With `created_at`, silence counts from it before the first event; with `now`
        too, the step holding `now` (the range reaching the present) has the live verdict, a
        health read: the colour of a chart's newest step is the verdict shown beside it."""
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
        left_out: dict[str, object] = {"burn_rate": None, "consecutive_failures": None}
        if created_at is None:  # silence before the first event cannot be told
            left_out["expected_interval_seconds"] = None
        as_of_step = policy.model_copy(update={**left_out, "window_seconds": step_s})
        span_steps = -(-(policy.sustain_seconds + policy.recovery_seconds) // step_s) + 1
        ordered = list(steps.items())
        last_event_s = None
        now_s = end.timestamp()
        out = []
        for k, (at, stats) in enumerate(ordered):
            if stats.total:
                last_event_s = min(at + step_s, now_s)  # the step's end: no later than its last
            verdict, reason, _ = evaluate(
                Inputs(
                    as_of_step,
                    min(at + step_s, now_s),
                    StagedStats(all=stats),
                    last_event_s,
                    0.0 if created_at is None else created_at.timestamp(),
                    sub_s=step_s,
                    subwindows=ordered[max(0, k + 1 - span_steps) : k + 1],
                )
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
        newest_s = ordered[-1][0] if ordered else None
        if (
            created_at is not None
            and now is not None
            and newest_s is not None
            and (newest_s <= now.timestamp() < newest_s + step_s)
        ):
            live = await self._live.read(system_id, policy, created_at, now)
            out[-1] = out[-1].model_copy(update={"health": live.health, "reason": live.reason})
        return out
