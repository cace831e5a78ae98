"""Settling an ingest call whose answer never came: was the batch appended or not?

A timeout says nothing about what the store did: it may not have run the call yet (it then
refuses it past its deadline), or it may have run it in time and been held up before answering
(a store paused between the two). So the API settles the call with fence.lua on the call's batch
marker: the store says "appended" (the API answers 202, as it should), or records that it never
will be (503, true). Only when the store stays unreachable for LSO_INGEST_SETTLE_MS is the outcome
unknown, and the answer says so (docs/api.md, "Outcomes").
"""

import asyncio
import time

import redis.exceptions as rex

from shared.store import scripts
from shared.store.client import AsyncRedis

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
        self._fence = client.register_script(scripts.source(scripts.FENCE))
        self._settle_s = settle_ms / 1000

    async def settle(self, partition: int, token: str) -> scripts.FenceStatus | None:
        """The call's outcome, made final; None when the store did not answer in time."""
        give_up = time.monotonic() + self._settle_s
        pause_s = 0.02
        call = scripts.fence(partition, token, MARKER_MS)
        while True:
            try:
                return scripts.FenceStatus(int(await self._fence(keys=call.keys, args=call.args)))
            except (rex.ConnectionError, rex.TimeoutError):
                if time.monotonic() + pause_s > give_up:
                    return None
            await asyncio.sleep(pause_s)
            pause_s = min(pause_s * 2, 0.5)
