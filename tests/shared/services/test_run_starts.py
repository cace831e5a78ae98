"""Starts and the ends that come before them, against a real store: whichever of a start and its
end is reported first, exactly one of the two reports counts the end; an end that waits in vain
is taken by the sweep, again after a lease, until settled; with LSO_DURABLE_ACK a waiting end is
written only once fsynced."""

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from shared.errors import StoreNotDurable
from shared.services.run_starts import RunStarts, Start, WaitingEnd
from shared.settings import Settings
from shared.store.client import async_client
from shared.store.partitions import Partitions
from tests.support.servers import SERVERS, Server
from tests.support.settings import make_settings

ROW = [1_796_115_600_000, 0, 0.0, "complete", None, "run", "ol:run:complete", None]


@asynccontextmanager
async def run_starts(
    settings: Settings, fsync_timeout_ms: int | None = None
) -> AsyncIterator[tuple[RunStarts, int]]:
    """The service and the partition of system 7, on a client closed afterwards."""
    client = async_client(settings)
    partitions = Partitions(client, settings.partitions)
    try:
        yield RunStarts(client, partitions, 90_000, fsync_timeout_ms), await partitions.of(7)
    finally:
        await client.aclose()


def end(pair_id: str, end_ms: float = 1_796_115_612_000.5) -> WaitingEnd:
    return WaitingEnd(7, pair_id, ROW, end_ms)


def test_whichever_comes_first_exactly_one_report_counts_the_end(settings: Settings) -> None:
    async def pair(starts: RunStarts, i: int) -> int:
        start = Start(1_796_115_600_000, f"run-{i}")

        async def report_start() -> int:
            await asyncio.sleep(random.random() / 1000)
            return int(await starts.record(7, f"pair-{i}", start) is not None)

        async def report_end() -> int:
            await asyncio.sleep(random.random() / 1000)
            return int(await starts.wait_for_start(end(f"pair-{i}"), 0) is not None)

        return sum(await asyncio.gather(report_start(), report_end()))

    async def main() -> list[int]:
        async with run_starts(settings) as (starts, _):
            found = []
            for wave in range(10):  # 30 pairs at a time: a connection each, not 600 at once
                pairs = (pair(starts, wave * 30 + i) for i in range(30))
                found += await asyncio.gather(*pairs)
            return found

    assert set(asyncio.run(main())) == {1}


def test_the_counted_end_takes_its_latency_from_the_start() -> None:
    assert end("p").counted(Start(1_796_115_600_000, "r"))[2] == 12_000.5
    assert end("p").counted(None)[2] == 0.0
    assert end("p", 5.0).counted(Start(10, "r"))[2] == 0.0  # never negative
    assert end("p").counted(None)[3:] == ROW[3:]


def test_an_end_that_waits_in_vain_is_due_after_its_wait_again_after_a_lease_until_settled(
    settings: Settings,
) -> None:
    async def main() -> None:
        async with run_starts(settings) as (starts, p):
            assert await starts.wait_for_start(end("a"), 1_000) is None
            # A retried report: the first one is kept, time and due time alike.
            assert await starts.wait_for_start(end("a", 1.0), 5_000) is None
            assert await starts.take_due(p, 999, 30_000) == []
            (taken,) = await starts.take_due(p, 1_000, 30_000)
            assert (taken.pair_id, taken.end_ms, taken.row) == ("a", end("a").end_ms, ROW)
            assert await starts.take_due(p, 30_999, 30_000) == []  # leased
            (again,) = await starts.take_due(p, 31_000, 30_000)  # the taker died: due again
            await starts.settle(again)
            assert await starts.take_due(p, 10**12, 30_000) == []
            # Its start, when it comes at last, hands over nothing: the end was counted.
            assert await starts.record(7, "a", Start(0, "r")) is None

    asyncio.run(main())


@pytest.fixture(params=sorted(SERVERS))
def aof_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    aof = ["--appendonly", "yes", "--appendfsync", "everysec"]
    server = Server(SERVERS[request.param], extra_args=aof).start()
    yield server
    server.stop()


def test_with_durable_ack_a_waiting_end_is_fsynced_before_it_counts_as_taken(
    aof_server: Server,
) -> None:
    import redis

    plain = redis.Redis.from_url(aof_server.url)
    if tuple(int(x) for x in str(plain.info("server")["redis_version"]).split(".")[:2]) < (7, 2):
        pytest.skip("WAITAOF needs Redis/Valkey >= 7.2")

    async def wait(pair_id: str) -> Start | None:
        async with run_starts(make_settings(aof_server.url), 1_000) as (starts, _):
            return await starts.wait_for_start(end(pair_id), 0)

    assert asyncio.run(wait("a")) is None
    assert int(plain.info("commandstats")["cmdstat_waitaof"]["calls"]) == 1

    plain.config_set("appendonly", "no")
    with pytest.raises(StoreNotDurable):
        asyncio.run(wait("b"))
