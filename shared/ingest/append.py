"""Append one encoded batch to its partition's stream, atomically with its accounting.

shared/store/lua/ingest.lua checks the partition's backlog share and the system's token bucket,
then XADDs; with LSO_DURABLE_ACK a WAITAOF on the same connection confirms the fsync.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import redis.exceptions as rex
from redis.exceptions import NoScriptError, ResponseError

from shared.errors import OutcomeUnknown, StoreNotDurable
from shared.ingest.outcome import MARKER_MS, NotFsynced, Settler, may_have_run
from shared.settings import Settings
from shared.store import scripts
from shared.store.client import AsyncRedis, text
from shared.store.clock import StoreClock
from shared.store.durable import run_and_fsync
from shared.store.partitions import Partitions


@dataclass(frozen=True)
class Appended:
    """What became of a batch: appended (every field zero), shed, rate-limited, or too late."""

    shed_backlog: int = 0
    rate_limited_s: float = 0.0
    too_late_ms: int = 0  # the store ran the append past its deadline, and refused it

    @property
    def ok(self) -> bool:
        return not self.shed_backlog and not self.rate_limited_s and not self.too_late_ms


class StreamAppender:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._partitions = partitions
        self._client = client
        self._settings = settings
        self._ingest = client.register_script(scripts.source(scripts.INGEST))
        self._fsync_always: bool | None = None  # learnt from the store on the first durable ack
        self._clock = StoreClock(client)
        self._settler = Settler(client, settings.ingest_settle_ms)

    async def append(
        self, system_id: int, entry: dict[bytes, bytes], events: int, rate_per_s: float
    ) -> Appended:
        """Append one encoded batch and count its events, atomically, unless the partition's
        backlog is at its share of LSO_MAX_LAG_EVENTS or the system is over its rate limit.

        With LSO_DURABLE_ACK it returns only once the store fsynced the write (WAITAOF); a store
        that cannot confirm raises StoreNotDurable (a 503: the client retries, and its
        Idempotency-Key or event ids keep the retry from counting twice).
        """
        partition = await self._partitions.of(system_id)
        streams = (await self._partitions.layout()).streams
        backlog_share = max(self._settings.max_lag_events // streams, 1)
        capacity = max(rate_per_s * self._settings.rate_limit_burst_s, 1.0)
        deadline_ms = await self._clock.deadline_ms(self._settings.ingest_deadline_budget_ms)
        token = uuid.uuid4().hex
        call = scripts.ingest(
            partition, system_id, entry, events, rate_per_s, capacity, backlog_share, deadline_ms,
            token, MARKER_MS,
        )  # fmt: skip
        try:
            if self._settings.durable_ack:
                status, value = await self._append_durably(call)
            else:
                status, value = await self._ingest(keys=call.keys, args=call.args)
        except rex.RedisError as exc:
            if not may_have_run(exc):
                raise
            fsync_ms = self._fsync_timeout_ms() if self._settings.durable_ack else None
            try:
                settled = await self._settler.settle(partition, system_id, token, fsync_ms)
            except NotFsynced as not_fsynced:
                raise StoreNotDurable(str(not_fsynced)) from exc
            if settled is scripts.FenceStatus.APPENDED:
                return Appended()
            if settled is scripts.FenceStatus.NOT_APPENDED:
                raise  # a 503 that is true: the batch is not in the stream and never will be
            raise OutcomeUnknown(
                "the store stopped answering after the batch was sent and did not come back in "
                f"{self._settings.ingest_settle_ms} ms: it may have been appended; resend it with "
                "the same Idempotency-Key",
                1,
            ) from exc
        if status == scripts.IngestStatus.FENCED:  # a resend of a call settled as not appended
            return Appended(too_late_ms=1)
        if status == scripts.IngestStatus.TOO_LATE:
            return Appended(too_late_ms=int(value))
        if status == scripts.IngestStatus.SHED:
            return Appended(shed_backlog=int(value))
        if status == scripts.IngestStatus.RATE_LIMITED:
            return Appended(rate_limited_s=int(value) / 1000)
        return Appended()

    async def charge(self, system_id: int, events: int, rate_per_s: float) -> float:
        """Count `events` of a rejected batch against the system's rate limit (nothing is
        appended); returns the seconds until the system may send again (0: it may now)."""
        partition = await self._partitions.of(system_id)
        capacity = max(rate_per_s * self._settings.rate_limit_burst_s, 1.0)
        call = scripts.ingest(partition, system_id, {}, events, rate_per_s, capacity, 2**62)
        status, value = await self._ingest(keys=call.keys, args=call.args)
        return int(value) / 1000 if status == scripts.IngestStatus.RATE_LIMITED else 0.0

    async def _append_durably(self, call: scripts.Call) -> Any:
        """Run the ingest script, then WAITAOF on the same connection: WAITAOF waits for the
        writes of its own connection only, so both go in one pipeline (on a cluster, to the node
        holding the partition)."""
        if self._fsync_always is None:
            self._fsync_always = await self._fsyncs_every_write()
            await self._client.script_load(self._ingest.script)  # NOSCRIPT only after a failover
        if self._fsync_always:
            return await self._ingest(keys=call.keys, args=call.args)  # fsynced before the reply
        timeout_ms = self._fsync_timeout_ms()
        for attempt in range(2):
            appended, waited = await run_and_fsync(self._client, self._ingest.sha, call, timeout_ms)
            if isinstance(appended, NoScriptError) and attempt == 0:
                await self._client.script_load(self._ingest.script)
                continue
            break
        if isinstance(appended, Exception):
            raise appended
        if isinstance(waited, ResponseError):  # e.g. AOF switched off at runtime
            raise StoreNotDurable(f"WAITAOF failed: {waited}")
        if isinstance(waited, Exception):
            raise waited
        if int(waited[0]) < 1:
            raise StoreNotDurable(f"the store did not fsync within {timeout_ms} ms")
        return appended

    def _fsync_timeout_ms(self) -> int:
        return max(self._settings.redis_timeout_ms // 2, 1)

    async def _fsyncs_every_write(self) -> bool:
        """True when the store runs `appendfsync always`; raises StoreNotDurable when it can
        confirm nothing (AOF off, or no WAITAOF before Redis 7.2 and no `always`)."""
        try:
            config = await self._client.config_get("append*")
        except ResponseError:
            config = {}  # CONFIG may be renamed away on managed servers: rely on WAITAOF
        aof = {text(k or ""): text(v or "") for k, v in config.items()}
        if aof.get("appendonly") == "no":
            raise StoreNotDurable("LSO_DURABLE_ACK needs the store's AOF (appendonly yes)")
        if aof.get("appendfsync") == "always":
            return True
        info = await self._client.info("server")
        version = tuple(int(x) for x in str(info.get("redis_version", "0.0")).split(".")[:2])
        if version < (7, 2):
            raise StoreNotDurable(
                "LSO_DURABLE_ACK needs WAITAOF (Redis/Valkey >= 7.2) or appendfsync always"
            )
        return False
