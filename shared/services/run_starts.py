"""Starts reported through the adapters (ping URLs, OpenLineage), kept so that the report of an
end can carry the run's duration when it is appended.

The duration has to be known at ingest: an end is counted like any event (its latency joins the
percentiles) the moment a worker applies it, and nothing is counted twice, so it cannot be
corrected later. A start is recorded only after its own report was appended, and kept until its
end, or `retention_s` after the newest start of the system.
"""

from dataclasses import dataclass

from shared.store import keys
from shared.store.client import AsyncRedis, text
from shared.store.partitions import Partitions


@dataclass(frozen=True)
class Start:
    ts_ms: int
    run_id: str  # the LSO run the start opened


class RunStarts:
    def __init__(self, client: AsyncRedis, partitions: Partitions, retention_s: int) -> None:
        self._client = client
        self._partitions = partitions
        self._retention_s = retention_s

    async def record(self, system_id: int, pair_id: str, start: Start) -> None:
        """Note a start under `pair_id` (the id its end will name); an earlier start of the same
        id is kept, so a retried or repeated start report does not move it."""
        key = keys.run_starts(await self._partitions.of(system_id), system_id)
        known = await self.find(system_id, pair_id)
        if known is None or start.ts_ms < known.ts_ms:
            value = keys.RUN_START_FORMAT.format(ts_ms=start.ts_ms, run_id=start.run_id)
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(key, pair_id, value)
            pipe.expire(key, self._retention_s)
            await pipe.execute()

    async def find(self, system_id: int, pair_id: str) -> Start | None:
        key = keys.run_starts(await self._partitions.of(system_id), system_id)
        value = await self._client.hget(key, pair_id)
        if value is None:
            return None
        ts_ms, _, run_id = text(value).partition(" ")
        return Start(int(ts_ms), run_id)

    async def forget(self, system_id: int, pair_id: str) -> None:
        key = keys.run_starts(await self._partitions.of(system_id), system_id)
        await self._client.hdel(key, pair_id)
