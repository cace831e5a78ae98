"""Starts reported through the adapters (ping URLs, OpenLineage), kept so that the report of an
end can carry the run's duration when it is appended; and the ends reported before their start
(OpenLineage sends START and COMPLETE concurrently), which wait for it.

The duration has to be known at ingest: an end is counted like any event (its latency joins the
percentiles) the moment a worker applies it, and nothing is counted twice, so it cannot be
corrected later. A start is recorded only after its own report was appended, and kept until its
end, or `retention_s` after the newest start of the system.

An end that finds no start waits (`wait_for_start`), and the start's report counts it
(`record` hands it over); `end_wait.lua` and `start_record.lua` are atomic against each other, so
whichever report comes first, the end is counted with its duration. One whose start never comes
is counted with latency 0 by the jobs' sweep (`take_due`, worker/jobs/late_ends.py).
"""

from dataclasses import dataclass
from typing import Any

import orjson

from shared.errors import StoreNotDurable
from shared.store import keys, scripts
from shared.store.client import AsyncRedis, text
from shared.store.durable import fsynced, run_and_fsync
from shared.store.partitions import Partitions


@dataclass(frozen=True)
class Start:
    ts_ms: int
    run_id: str  # the LSO run the start opened


@dataclass(frozen=True)
class WaitingEnd:
    """The counted end of a run whose start was not seen yet: its compact row (latency 0 until
    the start is known) and its exact time, from which the latency is computed."""

    system_id: int
    pair_id: str
    row: list[Any]
    end_ms: float

    def counted(self, start: Start | None) -> list[Any]:
        """The row to append: its latency the time since `start` (0 without one)."""
        latency_ms = 0.0 if start is None else max(0.0, self.end_ms - start.ts_ms)
        return [*self.row[:2], latency_ms, *self.row[3:]]


class RunStarts:
    def __init__(
        self,
        client: AsyncRedis,
        partitions: Partitions,
        retention_s: int,
        fsync_timeout_ms: int | None = None,
    ) -> None:
        """`fsync_timeout_ms` (LSO_DURABLE_ACK): a waiting end is written only once fsynced."""
        self._client = client
        self._partitions = partitions
        self._retention_s = retention_s
        self._fsync_timeout_ms = fsync_timeout_ms
        self._record = client.register_script(scripts.source(scripts.START_RECORD))
        self._wait = client.register_script(scripts.source(scripts.END_WAIT))
        self._due = client.register_script(scripts.source(scripts.ENDS_DUE))

    async def record(self, system_id: int, pair_id: str, start: Start) -> WaitingEnd | None:
        """Note a start under `pair_id` (the id its end will name); an earlier start of the same
        id is kept, so a retried or repeated start report does not move it. Returns the end
        that came first and waits for it, if any: the caller counts it, then `settle`s it."""
        partition = await self._partitions.of(system_id)
        value = keys.RUN_START_FORMAT.format(ts_ms=start.ts_ms, run_id=start.run_id)
        call = scripts.start_record(
            partition, system_id, pair_id, value, start.ts_ms, self._retention_s
        )
        waiting = await self._record(keys=call.keys, args=call.args)
        return None if waiting is None else _waiting_end(system_id, pair_id, waiting)

    async def find(self, system_id: int, pair_id: str) -> Start | None:
        key = keys.run_starts(await self._partitions.of(system_id), system_id)
        value = await self._client.hget(key, pair_id)
        return None if value is None else _start(value)

    async def forget(self, system_id: int, pair_id: str) -> None:
        key = keys.run_starts(await self._partitions.of(system_id), system_id)
        await self._client.hdel(key, pair_id)

    async def wait_for_start(self, end: WaitingEnd, due_ms: int) -> Start | None:
        """Let `end` wait for its start until `due_ms`, unless the start is known by now: then
        nothing is written and the start is returned, for the caller to count the end."""
        partition = await self._partitions.of(end.system_id)
        value = orjson.dumps({"row": end.row, "end_ms": end.end_ms})
        call = scripts.end_wait(partition, end.system_id, end.pair_id, value, due_ms)
        if self._fsync_timeout_ms is None:
            start = await self._wait(keys=call.keys, args=call.args)
        else:
            start = await self._fsynced(call, self._fsync_timeout_ms)
        return None if start is None else _start(start)

    async def _fsynced(self, call: scripts.Call, timeout_ms: int) -> Any:
        """end_wait.lua and its fsync (shared/store/durable.py)."""
        await self._client.script_load(self._wait.script)  # a rare path: no NOSCRIPT dance
        answer, waited = await run_and_fsync(self._client, self._wait.sha, call, timeout_ms)
        if isinstance(answer, Exception):
            raise answer
        if not fsynced(waited):
            raise StoreNotDurable(f"the store did not fsync the waiting end: {waited}")
        return answer

    async def settle(self, end: WaitingEnd) -> None:
        """The end was counted: it waits no more."""
        partition = await self._partitions.of(end.system_id)
        field = keys.WAITING_END_FORMAT.format(system_id=end.system_id, pair_id=end.pair_id)
        pipe = self._client.pipeline(transaction=True)
        pipe.hdel(keys.ends_waiting(partition), field)
        pipe.zrem(keys.ends_waiting_due(partition), field)
        await pipe.execute()

    async def take_due(
        self, partition: int, now_ms: int, lease_ms: int, limit: int = 100
    ) -> list[WaitingEnd]:
        """The ends of `partition` whose wait is over (each due again `lease_ms` later unless
        settled meanwhile)."""
        call = scripts.ends_due(partition, now_ms, lease_ms, limit)
        fields = [text(f) for f in await self._due(keys=call.keys, args=call.args)]
        if not fields:
            return []
        values = await self._client.hmget(keys.ends_waiting(partition), fields)
        found = []
        for field, value in zip(fields, values, strict=True):
            system_id, _, pair_id = field.partition(" ")
            if value is None:  # settled between the two calls: only its due entry was left
                await self._client.zrem(keys.ends_waiting_due(partition), field)
                continue
            found.append(_waiting_end(int(system_id), pair_id, value))
        return found


def _start(value: Any) -> Start:
    ts_ms, _, run_id = text(value).partition(" ")
    return Start(int(ts_ms), run_id)


def _waiting_end(system_id: int, pair_id: str, value: Any) -> WaitingEnd:
    doc = orjson.loads(value)
    return WaitingEnd(system_id, pair_id, doc["row"], float(doc["end_ms"]))
