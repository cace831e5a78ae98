"""The per-process tally of request figures: counted in memory, added to the store's hashes by a
flush, summed there over processes; a flush that cannot reach the store keeps its counts."""

import asyncio

import pytest
import redis
from redis.exceptions import ConnectionError as StoreConnectionError

from shared.services.tally import LATENCY_BOUNDS_S, Tally
from shared.settings import Settings
from shared.store import keys
from shared.store.client import async_client
from tests.support.settings import make_settings

EVENTS = "/systems/{system_id}/events"


def counted() -> Tally:
    tally = Tally()
    tally.request("POST", EVENTS, 202, 0.004)  # the first bucket (<= 0.005 s)
    tally.request("POST", EVENTS, 202, 0.005)  # a bound belongs to its bucket
    tally.request("POST", EVENTS, 503, 30.0)  # past the last bound: +Inf
    tally.rejected("invalid", 7)
    tally.rejected("overloaded", 0)  # refused before its body was read: no events known
    return tally


def test_take_gives_the_increments_once() -> None:
    tally = counted()
    taken = {(key, field): n for key, field, n in tally.take()}

    assert taken == {
        (keys.METRICS_REQUESTS, f"POST {EVENTS} 202"): 2,
        (keys.METRICS_REQUESTS, f"POST {EVENTS} 503"): 1,
        (keys.METRICS_LATENCY, f"POST {EVENTS} 0"): 2,
        (keys.METRICS_LATENCY, f"POST {EVENTS} {len(LATENCY_BOUNDS_S)}"): 1,
        (keys.METRICS_LATENCY, f"POST {EVENTS} sum_us"): 30_009_000,
        (keys.METRICS_REJECTED, "invalid batches"): 1,
        (keys.METRICS_REJECTED, "invalid events"): 7,
        (keys.METRICS_REJECTED, "overloaded batches"): 1,
    }
    assert tally.take() == []


def test_what_is_given_back_is_taken_again() -> None:
    tally = counted()
    first = sorted(tally.take())
    tally.give_back(first)
    assert sorted(tally.take()) == first


def test_flushes_of_several_processes_add_up_in_the_store(
    settings: Settings, client: redis.Redis
) -> None:
    async def flush_both() -> None:
        store = async_client(settings)
        try:
            assert await counted().flush(store) == 8
            assert await counted().flush(store) == 8
            assert await Tally().flush(store) == 0  # nothing counted: no round trip
        finally:
            await store.aclose()

    asyncio.run(flush_both())
    assert client.hget(keys.METRICS_REQUESTS, f"POST {EVENTS} 202") == b"4"
    assert client.hget(keys.METRICS_LATENCY, f"POST {EVENTS} sum_us") == b"60018000"
    assert client.hget(keys.METRICS_REJECTED, "invalid events") == b"14"


def test_a_flush_that_cannot_reach_the_store_keeps_its_counts(
    settings: Settings, client: redis.Redis
) -> None:
    tally = counted()

    async def flush_to(url: str) -> None:
        store = async_client(make_settings(url, redis_timeout_ms=200))
        try:
            await tally.flush(store)
        finally:
            await store.aclose()

    with pytest.raises(StoreConnectionError):
        asyncio.run(flush_to("redis://127.0.0.1:1/0"))  # nothing listens on port 1
    asyncio.run(flush_to(settings.redis_url))
    assert client.hget(keys.METRICS_REQUESTS, f"POST {EVENTS} 202") == b"2"
    assert client.hget(keys.METRICS_REJECTED, "overloaded batches") == b"1"
