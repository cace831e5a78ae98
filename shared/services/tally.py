"""Figures that exist only per process (requests by route and status, their latencies, refused
batches), summed in the store so that a scrape of any API process shows the whole deployment.

Counting costs a request a few dict operations and awaits nothing; a background task (`run`)
adds what was counted to the store hashes (keys.METRICS_*) once every FLUSH_S, in one pipeline of
HINCRBYs. A process that dies loses at most its last FLUSH_S of counts. A flush that could not
reach the store keeps its counts for the next one; one whose reply was lost (a timeout) may have
been applied, so its counts are dropped rather than risk counting them twice.
"""

import asyncio
import logging
from bisect import bisect_left

from redis.exceptions import ConnectionError as StoreConnectionError

from shared.store import keys
from shared.store.client import AsyncRedis

log = logging.getLogger("lso.api")

FLUSH_S = 1.0
# Upper bounds (s) of the request latency buckets: Prometheus' default buckets.
LATENCY_BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Why a batch was refused; anything else is "error". The figures show these words.
REJECTION_REASONS = (
    "unknown_system",  # no such system (or not the caller's)
    "rate_limited",  # over the system's own rate limit
    "overloaded",  # the backlog is over LSO_MAX_LAG_EVENTS (load shedding)
    "body",  # the body could not be read: too large, wrong type or encoding, cut short
    "invalid",  # the events failed validation
    "store_too_slow",  # the store reached the append past its deadline
    "outcome_unknown",  # the store took the batch and stopped answering
    "not_durable",  # LSO_DURABLE_ACK could not confirm the fsync in time
    "error",  # anything else (the store unreachable, ...)
)

_Increment = tuple[str, str, int]  # (hash, field, by)


class Tally:
    """One process's counts since its last flush."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        # (method, route) -> a count per bucket (the last for +Inf), then the sum of µs
        self._latency: dict[tuple[str, str], list[int]] = {}
        self._rejected: dict[str, int] = {}  # REJECTED_FIELD -> count

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request answered: `route` is its template (`/systems/{system_id}/events`)."""
        key = (method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        cells = self._latency.get((method, route))
        if cells is None:
            cells = self._latency[(method, route)] = [0] * (len(LATENCY_BOUNDS_S) + 2)
        cells[bisect_left(LATENCY_BOUNDS_S, seconds)] += 1  # a bucket holds values <= its bound
        cells[-1] += round(seconds * 1_000_000)

    def rejected(self, reason: str, events: int) -> None:
        """One batch refused for `reason` (one of REJECTION_REASONS), with its `events` when they
        are known (0: refused before its body was read)."""
        batches = keys.REJECTED_FIELD.format(reason=reason, unit="batches")
        self._rejected[batches] = self._rejected.get(batches, 0) + 1
        if events:
            field = keys.REJECTED_FIELD.format(reason=reason, unit="events")
            self._rejected[field] = self._rejected.get(field, 0) + events

    def take(self) -> list[_Increment]:
        """Everything counted since the last take, as increments of the store's hashes; the
        tally starts again from zero."""
        out: list[_Increment] = []
        for (method, route, status), n in self._requests.items():
            field = keys.REQUEST_FIELD.format(method=method, route=route, status=status)
            out.append((keys.METRICS_REQUESTS, field, n))
        for (method, route), cells in self._latency.items():
            for bucket, n in enumerate(cells[:-1]):
                if n:
                    field = keys.LATENCY_FIELD.format(method=method, route=route, bucket=bucket)
                    out.append((keys.METRICS_LATENCY, field, n))
            field = keys.LATENCY_SUM_FIELD.format(method=method, route=route)
            out.append((keys.METRICS_LATENCY, field, cells[-1]))
        out.extend((keys.METRICS_REJECTED, field, n) for field, n in self._rejected.items())
        self._requests, self._latency, self._rejected = {}, {}, {}
        return out

    def give_back(self, taken: list[_Increment]) -> None:
        """Count again what a flush could not write."""
        for key, field, n in taken:
            if key == keys.METRICS_REQUESTS:
                method, route, status = field.split(" ")
                self._requests[(method, route, int(status))] = (
                    self._requests.get((method, route, int(status)), 0) + n
                )
            elif key == keys.METRICS_LATENCY:
                method, route, bucket = field.split(" ")
                cells = self._latency.setdefault((method, route), [0] * (len(LATENCY_BOUNDS_S) + 2))
                cells[-1 if bucket == "sum_us" else int(bucket)] += n
            else:
                self._rejected[field] = self._rejected.get(field, 0) + n

    async def flush(self, client: AsyncRedis) -> int:
        """Add what was counted to the store (one pipeline); returns the fields written."""
        taken = self.take()
        if not taken:
            return 0
        pipe = client.pipeline(transaction=False)
        for key, field, n in taken:
            pipe.hincrby(key, field, n)
        try:
            await pipe.execute()
        except StoreConnectionError:
            self.give_back(taken)
            raise
        return len(taken)

    async def run(self, client: AsyncRedis) -> None:
        """Flush every FLUSH_S until cancelled; a store that does not answer is tried again at
        the next one."""
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                await self.flush(client)
            except Exception as exc:  # never let the figures stop: the store comes back
                log.debug("metrics flush failed: %s", exc)
