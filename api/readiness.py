"""Readiness: the store answers and the backlog of unapplied events is below LSO_MAX_LAG_EVENTS.

The backlog is `events_in - events_out` summed over partitions (see shared/keys.partition_stats):
the API counts appended events in the same MULTI as the XADD, workers count applied ones in the
same script as the XACK, so the difference is exact. The answer is cached for a second so that
load-balancer probes cost the store almost nothing.
"""

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from shared import keys
from shared.settings import Settings

CACHE_S = 1.0


@dataclass(frozen=True)
class Backlog:
    events: int
    limit: int

    @property
    def ok(self) -> bool:
        return self.events < self.limit


class Readiness:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._cached: tuple[float, Backlog] | None = None

    async def backlog(self) -> Backlog:
        now = time.monotonic()
        if self._cached and self._cached[0] > now:
            return self._cached[1]
        pipe = self._client.pipeline(transaction=False)
        for p in range(self._settings.partitions):
            pipe.hmget(keys.partition_stats(p), ["events_in", "events_out"])
        lag = 0
        for events_in, events_out in await pipe.execute():
            lag += int(events_in or 0) - int(events_out or 0)
        backlog = Backlog(events=max(lag, 0), limit=self._settings.max_lag_events)
        self._cached = (now + CACHE_S, backlog)
        return backlog
