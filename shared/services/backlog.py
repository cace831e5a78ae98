"""Readiness and load shedding: the store answers and the backlog of unapplied events is below
LSO_MAX_LAG_EVENTS.

The backlog is `events_in - events_out` summed over partitions (see shared/keys.partition_stats):
the API counts appended events in the same script as the XADD, workers count applied ones in the
same script as the XACK, so the difference is exact. The answer is cached for a second so that
load-balancer probes and every ingest request together cost the store one small read per second
per process. Successive readings also give the observed drain rate, from which an overloaded API
tells clients when to come back.
"""

import math
import time
from dataclasses import dataclass

from shared.settings import Settings
from shared.store import keys
from shared.store.client import AsyncRedis
from shared.store.keys import PartitionStats as F
from shared.store.partitions import Partitions

CACHE_S = 1.0
# Bounds of the Retry-After sent while shedding: soon enough to resume quickly, late enough that a
# crowd of retrying clients does not become the overload.
MIN_RETRY_AFTER_S = 1
MAX_RETRY_AFTER_S = 60
UNKNOWN_RATE_RETRY_AFTER_S = 5
# Resume accepting once the backlog is below this share of the limit (hysteresis is provided by
# Retry-After: shed clients come back spread over the time the backlog needs to drain).
RESUME_SHARE = 0.9


@dataclass(frozen=True)
class Backlog:
    events: int
    limit: int
    drain_events_per_s: float | None

    @property
    def ok(self) -> bool:
        return self.events < self.limit

    def retry_after_s(self) -> int:
        """When a shed client should retry: the time to drain down to the resume mark."""
        if not self.drain_events_per_s:
            return UNKNOWN_RATE_RETRY_AFTER_S
        excess = self.events - RESUME_SHARE * self.limit
        wait_s = math.ceil(excess / self.drain_events_per_s)
        return max(MIN_RETRY_AFTER_S, min(MAX_RETRY_AFTER_S, wait_s))


class Readiness:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._partitions = partitions
        self._client = client
        self._settings = settings
        self._cached: tuple[float, Backlog] | None = None
        self._last_out: tuple[float, int] | None = None
        self._rate: float | None = None

    def forget(self) -> None:
        """Drop the cached answer (tests; the next call reads the store)."""
        self._cached = None

    async def backlog(self) -> Backlog:
        now = time.monotonic()
        if self._cached and self._cached[0] > now:
            return self._cached[1]
        pipe = self._client.pipeline(transaction=False)
        for p in range((await self._partitions.layout()).streams):
            pipe.hmget(keys.partition_stats(p), [F.EVENTS_IN, F.EVENTS_OUT])
        total_in = total_out = 0
        for events_in, events_out in await pipe.execute():
            total_in += int(events_in or 0)
            total_out += int(events_out or 0)
        self._observe_drain(now, total_out)
        backlog = Backlog(
            events=max(total_in - total_out, 0),
            limit=self._settings.max_lag_events,
            drain_events_per_s=self._rate,
        )
        self._cached = (now + CACHE_S, backlog)
        return backlog

    def _observe_drain(self, now: float, total_out: int) -> None:
        if self._last_out is not None:
            elapsed_s = now - self._last_out[0]
            if elapsed_s >= CACHE_S:
                rate = max(total_out - self._last_out[1], 0) / elapsed_s
                # Smooth over a few readings; a reading of 0 (idle workers) pulls the rate down.
                self._rate = rate if self._rate is None else 0.5 * self._rate + 0.5 * rate
                self._last_out = (now, total_out)
        else:
            self._last_out = (now, total_out)
