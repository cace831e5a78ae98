"""AsyncLSOClient: the same client for asyncio pipelines.

Queuing never blocks, so `event()`, `run()` and `stage()` are those of LSOClient (runs and
stages take `async with` and decorate coroutine functions); only the calls that wait for the
sender are coroutines here, and they wait in a worker thread, not in the event loop."""

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from lso_client import events
from lso_client.client import LSOClient
from lso_client.runs import Run

P = ParamSpec("P")
R = TypeVar("R")


class AsyncLSOClient:
    """Takes the arguments of LSOClient. `async with AsyncLSOClient() as client:` closes it."""

    def __init__(self, url: str | None = None, key: str | None = None, **options: Any) -> None:
        self.sync = LSOClient(url, key, **options)  # the same client, for code without a loop

    def event(
        self,
        system: int | str,
        event_type: str = "event",
        *,
        status: events.Status = "ok",
        latency_ms: float = 0.0,
        ts: datetime | float | None = None,
        run_id: str | None = None,
        stage: str | None = None,
        payload: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> bool:
        """LSOClient.event: queues the event (or drops it, counted) without waiting."""
        return self.sync.event(
            system, event_type, status=status, latency_ms=latency_ms, ts=ts, run_id=run_id,
            stage=stage, payload=payload, event_id=event_id,
        )  # fmt: skip

    def run(self, system: int | str, run_id: str | None = None) -> Run:
        """`async with client.run("orders-etl") as run:` (or a decorator of coroutine functions)."""
        return self.sync.run(system, run_id)

    def run_function(
        self, system: int | str, run_id: str | None = None
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        return self.sync.run_function(system, run_id)

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """LSOClient.flush, awaited."""
        return await asyncio.to_thread(self.sync.flush, timeout_s)

    async def aclose(self, timeout_s: float = 10.0) -> bool:
        """LSOClient.close, awaited."""
        return await asyncio.to_thread(self.sync.close, timeout_s)

    async def close(self, timeout_s: float = 10.0) -> bool:
        """The same as `aclose()`."""
        return await self.aclose(timeout_s)

    async def __aenter__(self) -> "AsyncLSOClient":
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def sent(self) -> int:
        return self.sync.sent

    @property
    def dropped(self) -> int:
        return self.sync.dropped

    @property
    def rejected(self) -> int:
        return self.sync.rejected

    @property
    def unresolved(self) -> int:
        return self.sync.unresolved

    @property
    def pending(self) -> int:
        return self.sync.pending
