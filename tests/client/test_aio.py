"""AsyncLSOClient: the same surface, awaited where it waits, never blocking the event loop."""

import asyncio
import threading
import time

from lso_client import AsyncLSOClient
from tests.client.fake_lso import FakeLSO, Request


def test_an_async_pipeline_reports_its_run_and_flushes(fake: FakeLSO) -> None:
    async def main() -> AsyncLSOClient:
        async with AsyncLSOClient(fake.url, "test-key") as client:
            async with client.run(7) as run:
                async with run.stage("extract"):
                    await asyncio.sleep(0.01)
                client.event(7, "rows", latency_ms=3, run_id=run.run_id)
            assert await client.flush(5)
            assert client.sent == 4
        return client

    client = asyncio.run(main())
    kinds = [(e["event_type"], e.get("stage")) for e in fake.counted]
    assert kinds == [("run_start", None), ("stage", "extract"), ("rows", None), ("run_end", None)]
    assert fake.counted[1]["latency_ms"] >= 10
    assert client.pending == 0 and client.event(7, "closed") is False and client.dropped == 1


def test_flush_waits_without_blocking_the_event_loop(fake: FakeLSO) -> None:
    gate = threading.Event()

    def slow(request: Request) -> None:
        gate.wait(10)

    fake.hook = slow

    async def main() -> tuple[bool, int]:
        client = AsyncLSOClient(fake.url, "test-key")
        client.event(7, "load")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while not gate.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        async def release() -> None:
            await asyncio.sleep(0.3)
            gate.set()

        results = await asyncio.gather(client.flush(5), tick(), release())
        await client.close()
        return results[0], ticks

    started = time.monotonic()
    flushed, ticks = asyncio.run(main())
    assert flushed and ticks >= 10, "the loop ran while the flush waited"
    assert time.monotonic() - started < 5
