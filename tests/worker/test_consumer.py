"""The worker loop against a real server: concurrent workers, reclaiming, dead letters, trimming."""

import threading
import time
from collections.abc import Callable

import pytest
import redis

from shared.settings import Settings
from shared.store import keys
from shared.store.client import sync_client
from tests.support.events import row
from tests.support.store import append, fill, totals
from tests.support.wait import wait_for
from worker import streams
from worker.applier import Outcome
from worker.consumer import DrainStats, Worker, is_alive


def test_two_workers_draining_one_stream_count_every_event_exactly_once(
    client: redis.Redis, settings: Settings
) -> None:
    expected = fill(client, systems=3, batches=40, size=25)
    s = settings.model_copy(update={"worker_read_count": 4})
    stats: list[DrainStats] = []

    def work() -> None:
        own = redis.Redis.from_url(s.redis_url, protocol=3)
        stats.append(Worker(own, s, burst=True).run())
        own.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert all(st.events > 0 for st in stats), "both workers took a share"
    assert sum(st.events for st in stats) == 3 * 40 * 25
    assert {sid: totals(client, sid) for sid in expected} == expected
    assert client.xpending(keys.stream(0), keys.GROUP)["pending"] == 0


def test_entries_of_a_vanished_consumer_are_reclaimed_and_counted_once(
    client: redis.Redis, settings: Settings
) -> None:
    expected = fill(client, systems=1, batches=5, size=10)
    streams.ensure_groups(client, 1)
    taken = streams.read(client, "dead-consumer", 1, 3, None)  # then it "crashes"
    assert len(taken) == 3

    s = settings.model_copy(update={"claim_idle_ms": 100})

    def reclaimed() -> bool:
        Worker(client, s, burst=True).run()
        return client.xpending(keys.stream(0), keys.GROUP)["pending"] == 0

    wait_for(reclaimed, 5, "the vanished consumer's entries to be reclaimed")
    assert totals(client, 1) == expected[1]
    assert client.xpending(keys.stream(0), keys.GROUP)["pending"] == 0


def test_an_entry_that_keeps_failing_moves_to_dead_letters_after_max_deliveries(
    client: redis.Redis, settings: Settings
) -> None:
    client.set(keys.raw_events(0, 1), "wrong type")  # every apply of system 1 fails
    append(client, 1, [row()])
    append(client, 2, [row(), row(error=True)])
    s = settings.model_copy(update={"claim_idle_ms": 100, "max_deliveries": 3})

    runs: list[DrainStats] = []

    def dead_lettered() -> bool:
        runs.append(Worker(client, s, burst=True).run())
        return int(client.xlen(keys.dead_letters(0))) > 0

    # Between runs the entry becomes idle enough to be reclaimed.
    wait_for(dead_lettered, 10, "the entry to be dead-lettered", interval_s=0.05)
    outcomes = runs[-1]

    (entry_id, fields), *_ = client.xrange(keys.dead_letters(0))
    assert b"delivered 4 times" in fields[b"error"]
    assert fields[b"f:s"] == b"1"
    assert client.xpending(keys.stream(0), keys.GROUP)["pending"] == 0
    assert totals(client, 2) == (2, 1)
    assert totals(client, 1) == (0, 0)
    assert outcomes.outcomes[Outcome.DEAD_LETTERED] == 1


def test_trimming_removes_acknowledged_entries_but_never_pending_ones(
    client: redis.Redis, settings: Settings, drain: Callable[..., DrainStats]
) -> None:
    fill(client, systems=1, batches=6, size=2)
    drain()
    assert client.xlen(keys.stream(0)) <= 1  # the last delivered id stays as the group's floor

    fill(client, systems=1, batches=4, size=2)
    held = streams.read(client, "slow-consumer", 1, 2, None)
    drain(claim_idle_ms=60_000)  # applies the other two, cannot reclaim the held ones yet
    streams.trim_acknowledged(client, 0)

    remaining = {e[0].decode() for e in client.xrange(keys.stream(0))}
    assert {e.entry_id for e in held} <= remaining


def test_a_blocking_read_longer_than_the_call_timeout_works_with_the_worker_client(
    settings: Settings,
) -> None:
    s = settings.model_copy(update={"worker_block_ms": 600, "redis_timeout_ms": 100})
    plain = redis.Redis.from_url(s.redis_url, socket_timeout=0.1)
    streams.ensure_groups(plain, 1)
    with pytest.raises(redis.TimeoutError):
        streams.read(plain, "w", 1, 1, s.worker_block_ms)

    worker = Worker(sync_client(s), s, name="w")
    worker._read_own = False  # straight to the blocking read of new entries
    started = time.monotonic()
    worker.run_once()
    assert time.monotonic() - started >= 0.5
    assert worker.stats.reconnects == 0


def test_heartbeats_make_a_worker_visible_to_the_health_check(
    client: redis.Redis, settings: Settings, drain: Callable[..., DrainStats]
) -> None:
    assert not is_alive(client, settings)
    worker = Worker(client, settings)
    worker.run_once()
    assert is_alive(client, settings)
    assert not is_alive(client, settings, host="some-other-host")
    worker.stop()
    worker.run()  # leaves at once: stop was requested
    assert not is_alive(client, settings)
