"""Runs: events sharing a `run_id`, summarised by the worker (shared/store/lua/apply.lua).

A run has finished when its newest event has type `run_end` (a run marker: shared/model/events.py),
or when it has been quiet for the policy's `run_idle_seconds`; it then `failed` if its newest event
is an error, else `succeeded`. A run whose newest event is its `run_start` stays running.
Its counts and stages are those of its counted events only.
"""

from datetime import UTC, datetime
from typing import Literal

from shared.model.events import RUN_END, RUN_START
from shared.model.policy import EffectivePolicy
from shared.model.runs import Run
from shared.settings import Settings
from shared.store import keys
from shared.store.client import AsyncRedis, text
from shared.store.keys import RunSummary as R
from shared.store.partitions import Partitions

Flag = Literal["too_long", "too_fast"]


class Runs:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._partitions = partitions
        self._client = client
        self._settings = settings

    async def recent(
        self, system_id: int, policy: EffectivePolicy, now: datetime, limit: int
    ) -> list[Run]:
        partition = await self._partitions.of(system_id)
        newest: list[bytes] = await self._client.zrevrange(
            keys.runs(partition, system_id), 0, limit - 1
        )  # type: ignore[assignment]
        ids = [text(r) for r in newest]
        pipe = self._client.pipeline(transaction=False)
        for run_id in ids:
            pipe.hgetall(keys.run(partition, system_id, run_id))
        runs = []
        for run_id, raw in zip(ids, await pipe.execute(), strict=True):
            if raw:
                runs.append(summarise(run_id, {text(k): text(v) for k, v in raw.items()},
                                      policy, now.timestamp()))  # fmt: skip
        return runs


def summarise(run_id: str, h: dict[str, str], policy: EffectivePolicy, now_s: float) -> Run:
    first_s, last_s = int(h[R.FIRST_MS]) / 1000, int(h[R.LAST_MS]) / 1000
    duration = max(0.0, last_s - first_s)
    # A run whose newest event is its start said it is running: no idle timeout ends it (a job
    # that hangs after starting is what `max_run_seconds` flags).
    last_type = h.get(R.LAST_TYPE)
    idle = last_type != RUN_START and now_s - last_s >= policy.run_idle_seconds
    finished = last_type == RUN_END or idle
    outcome: Literal["running", "succeeded", "failed"] = "running"
    if finished:
        outcome = "failed" if h.get(R.LAST_ERROR) == "1" else "succeeded"
    flags: list[Flag] = []
    elapsed = duration if finished else max(duration, now_s - first_s)
    if policy.max_run_seconds is not None and elapsed > policy.max_run_seconds:
        flags.append("too_long")
    if finished and policy.min_run_seconds is not None and duration < policy.min_run_seconds:
        flags.append("too_fast")
    return Run(
        run_id=run_id,
        first_event_at=datetime.fromtimestamp(first_s, UTC),
        last_event_at=datetime.fromtimestamp(last_s, UTC),
        duration_seconds=duration,
        events=int(h.get(R.EVENTS, 0)),
        errors=int(h.get(R.ERRORS, 0)),
        stages={
            k.removeprefix(R.STAGE_PREFIX): int(v)
            for k, v in sorted(h.items())
            if k.startswith(R.STAGE_PREFIX)
        },
        outcome=outcome,
        flags=flags,
    )
