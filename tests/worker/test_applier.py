"""The atomic apply step, on a real server and on fakeredis (with its Lua extra)."""

import pytest
import redis

from shared.settings import Settings
from shared.store import keys
from tests.support.events import now_ms, row
from tests.support.store import append, raw_rows, totals
from worker import streams
from worker.applier import Entry, Outcome, RedisApplier


@pytest.fixture(params=["real", "fake"])
def store(request: pytest.FixtureRequest, settings: Settings) -> redis.Redis:
    if request.param == "real":
        return request.getfixturevalue("client")  # type: ignore[no-any-return]
    return request.getfixturevalue("fake_client")  # type: ignore[no-any-return]


def deliver(store: redis.Redis, consumer: str = "c1") -> list[Entry]:
    streams.ensure_groups(store, 1)
    return streams.read(store, consumer, 1, 100, None)


def test_each_entry_is_applied_once_even_when_delivered_twice(
    store: redis.Redis, settings: Settings
) -> None:
    append(store, 1, [row(error=True), row(), row()])
    applier = RedisApplier(store, settings)
    entries = deliver(store)

    first = applier.apply(entries)
    again = applier.apply(entries)  # e.g. a stalled consumer whose entry was reclaimed meanwhile

    assert first[0].outcome is Outcome.APPLIED and first[0].events == 3
    assert again[0].outcome is Outcome.ALREADY_APPLIED
    assert totals(store, 1) == (3, 1)
    assert len(raw_rows(store, 1)) == 3
    assert store.xpending(keys.stream(0), keys.GROUP)["pending"] == 0


def test_repeated_event_ids_count_once_across_and_within_batches(
    store: redis.Redis, settings: Settings
) -> None:
    append(store, 1, [row(event_id="a"), row(event_id="b"), row(event_id="a")])
    append(store, 1, [row(event_id="b"), row(event_id="c"), row()])
    results = RedisApplier(store, settings).apply(deliver(store))

    assert [r.events for r in results] == [2, 2]
    assert totals(store, 1) == (4, 0)


def test_undecodable_entry_goes_to_dead_letters_with_the_error(
    store: redis.Redis, settings: Settings
) -> None:
    streams.ensure_groups(store, 1)
    store.xadd(keys.stream(0), {b"v": b"1", b"s": b"1", b"n": b"1", b"e": b"{broken"})
    append(store, 1, [row()])
    results = RedisApplier(store, settings).apply(deliver(store))

    assert [r.outcome for r in results] == [Outcome.DEAD_LETTERED, Outcome.APPLIED]
    (dead_id, dead), *_ = store.xrange(keys.dead_letters(0))
    assert dead[b"error"].startswith(b"undecodable")
    assert dead[b"f:e"] == b"{broken"
    assert store.xpending(keys.stream(0), keys.GROUP)["pending"] == 0


def test_counters_and_markers_expire_and_raw_events_are_trimmed(
    client: redis.Redis, settings: Settings
) -> None:
    old = now_ms() - (settings.raw_retention_s + 10) * 1000
    append(client, 1, [row(old), row(event_id="x")])
    RedisApplier(client, settings).apply(deliver(client))

    assert len(raw_rows(client, 1)) == 1  # the event past retention was trimmed
    assert 0 < client.pttl(keys.raw_events(0, 1)) <= (settings.raw_retention_s + 300) * 1000
    assert 0 < client.ttl(keys.dedupe(0, 1, "x")) <= settings.dedupe_ttl_s
    for key in client.scan_iter(match="lso:{p0}:c:*"):
        assert client.ttl(key) > 0
    meta = client.hgetall(keys.system_meta(0, 1))
    assert int(meta[b"last_ts"]) >= old


def test_script_failure_leaves_the_entry_pending(client: redis.Redis, settings: Settings) -> None:
    append(client, 1, [row()])
    client.set(keys.raw_events(0, 1), "not a sorted set")  # makes ZADD fail inside the script
    entries = deliver(client)
    results = RedisApplier(client, settings).apply(entries)

    assert results[0].outcome is Outcome.FAILED
    assert client.xpending(keys.stream(0), keys.GROUP)["pending"] == 1
