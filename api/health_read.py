"""Read one system's health over a window from its counter containers (shared/buckets.py).

The cost is bounded by the number of containers the window touches (at most ten), never by the
number of events in it.
"""

import math
from collections import Counter
from datetime import UTC, datetime

import redis.asyncio as aioredis

from api.schemas.health import Health
from shared import keys
from shared.buckets import ERRORS_FIELD, cover
from shared.settings import Settings
from shared.sketch import quantiles
from shared.verdict import judge


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class HealthReader:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._client = client
        self._settings = settings

    async def read(self, system_id: int, window_s: int, now: datetime) -> Health:
        """Health over event `ts` in `[now - window_s, now]`, to whole seconds at the edges."""
        partition = keys.partition_of(system_id, self._settings.partitions)
        end_s = math.floor(now.timestamp())
        start_s = end_s - window_s
        wanted = cover(start_s, end_s)
        pipe = self._client.pipeline(transaction=False)
        for container_s, container_start in wanted:
            pipe.hgetall(keys.counters(partition, system_id, container_s, container_start))
        pipe.hget(keys.system_meta(partition, system_id), "last_ts")
        *containers, last_ts = await pipe.execute()

        histogram: Counter[str] = Counter()
        errors = 0
        for slots, fields in zip(wanted.values(), containers, strict=True):
            for raw_field, raw_count in fields.items():
                slot, _, bucket = _text(raw_field).partition(":")
                if int(slot) not in slots:
                    continue
                if bucket == ERRORS_FIELD:
                    errors += int(raw_count)
                else:
                    histogram[bucket] += int(raw_count)
        total = sum(histogram.values())
        p50, p95, p99 = quantiles(histogram, (0.5, 0.95, 0.99))
        verdict, reason = judge(
            total,
            errors,
            window_s,
            self._settings.degraded_error_rate,
            self._settings.unhealthy_error_rate,
        )
        return Health(
            system_id=system_id,
            window_seconds=window_s,
            window_start=datetime.fromtimestamp(start_s, UTC),
            window_end=now,
            health=verdict,
            reason=reason,
            total=total,
            errors=errors,
            error_rate=errors / total if total else 0.0,
            rps=total / window_s,
            p50_latency=p50,
            p95_latency=p95,
            p99_latency=p99,
            last_event_at=None if last_ts is None else _from_ms(int(last_ts)),
        )
