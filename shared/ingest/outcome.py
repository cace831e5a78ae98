"""Settling an ingest call whose answer never came: was the batch appended or not?

A timeout says nothing about what the store did: it may not have run the call yet (it then
refuses it past its deadline), or it may have run it in time and been held up before answering
(a store paused between the two). So the API settles the call with fence.lua on the call's batch
marker: the store says "appended" (the API answers 202, as it should), or records that it never
will be (503, true). Only when the store stays unreachable for LSO_INGEST_SETTLE_MS is the outcome
unknown, and the answer says so (docs/api.md, "Outcomes").

The ingest call is sent once: the client it goes through never resends (`async_client(...,
resend=False)`), so the error seen is the first one, and "could not connect" really means that
nothing was sent.
"""

import asyncio
import time

import redis.exceptions as rex

from shared.store import scripts
from shared.store.client import AsyncRedis
from shared.store.durable import fsynced, run_and_fsync

# How long a batch marker lives: far longer than any call can wait for its answer and settle.
MARKER_MS = 30_000


def may_have_run(exc: Exception) -> bool:
    """Whether a failed call may have reached the store (not when connecting failed)."""
    if isinstance(exc, rex.TimeoutError | rex.ConnectionError):
        text = str(exc)
        return "connecting" not in text and "No connection available" not in text
    return False


class Settler:
    def __init__(self, client: AsyncRedis, settle_ms: int) -> None:
        self._client = client
        self._fence = client.register_script(scripts.source(scripts.FENCE))
        self._settle_s = settle_ms / 1000

    async def settle(
        self, partition: int, system_id: int, token: str, fsync_timeout_ms: int | None = None
    ) -> scripts.FenceStatus | None:
        """The call's outcome, made final; None when the store did not answer in time. With
        `fsync_timeout_ms` (LSO_DURABLE_ACK), "appended" also means fsynced: a WAITAOF follows
        the fence on its connection, and an unconfirmed fsync raises it as the error it is."""
        give_up = time.monotonic() + self._settle_s
        pause_s = 0.02
        call = scripts.fence(partition, system_id, token, MARKER_MS)
        while True:
            try:
                return await self._fence_once(call, fsync_timeout_ms)
            except (rex.ConnectionError, rex.TimeoutError):
                if time.monotonic() + pause_s > give_up:
                    return None
            await asyncio.sleep(pause_s)
            pause_s = min(pause_s * 2, 0.5)

    async def _fence_once(
        self, call: scripts.Call, fsync_timeout_ms: int | None
    ) -> scripts.FenceStatus:
        if fsync_timeout_ms is None:
            return scripts.FenceStatus(int(await self._fence(keys=call.keys, args=call.args)))
        fenced, waited = await run_and_fsync(self._client, self._fence.sha, call, fsync_timeout_ms)
        if isinstance(fenced, rex.NoScriptError):
            await self._client.script_load(self._fence.script)
            raise rex.ConnectionError("fence script loaded; settle again")  # loops once more
        if isinstance(fenced, Exception):
            raise fenced
        status = scripts.FenceStatus(int(fenced))
        if status is scripts.FenceStatus.APPENDED and not fsynced(waited):
            raise NotFsynced(f"appended, but the store did not fsync within {fsync_timeout_ms} ms")
        return status


class NotFsynced(Exception):
    """Settled as appended, without the fsync LSO_DURABLE_ACK promises before a 202."""
