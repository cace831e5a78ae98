"""The atomic apply step, on the real servers (apply.lua merges histograms with cmsgpack, which
fakeredis's Lua lacks)."""

from collections import Counter

import msgpack
import pytest
import redis

from shared.model.sketch import bucket_of
from shared.model.time_slots import COMPACT_BYTES, unpack_histogram
from shared.settings import Settings
from shared.store import keys
from tests.support.events import now_ms, row
from tests.support.store import append, raw_rows, totals
from worker import streams
from worker.applier import Entry, Outcome, RedisApplier


@pytest.fixture
def store(client: redis.Redis) -> redis.Redis:
    return client


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


def test_ids_applied_by_an_earlier_call_are_left_out_and_the_rest_applied(
    store: redis.Redis, settings: Settings
) -> None:
    append(store, 1, [row(event_id="a"), row(event_id="b", error=True)])
    RedisApplier(store, settings).apply(deliver(store))
    append(store, 1, [row(event_id="b", error=True), row(event_id="c"), row()])
    append(store, 1, [row(event_id="a"), row(event_id="d")])
    results = RedisApplier(store, settings).apply(deliver(store))

    assert [(r.outcome, r.events) for r in results] == [(Outcome.APPLIED, 2), (Outcome.APPLIED, 1)]
    assert totals(store, 1) == (5, 1)
    ids = sorted(r[6] for r in raw_rows(store, 1) if r[6] is not None)
    assert ids == ["a", "b", "c", "d"], "a duplicate's raw row is not stored again"
    assert store.xpending(keys.stream(0), keys.GROUP)["pending"] == 0


def test_a_histogram_field_appended_to_apply_after_apply_is_summed_when_it_grows(
    store: redis.Redis, settings: Settings
) -> None:
    at = now_ms()
    latencies = [round(1.05**i, 3) for i in range(400)] * 2  # 400 buckets, each twice
    for start in range(0, 800, 10):  # one apply call per batch: one addition each
        append(store, 1, [row(at, latency_ms=x) for x in latencies[start : start + 10]])
        RedisApplier(store, settings).apply(deliver(store))

    second = at // 1000
    day = second - second % 86_400
    value = store.hget(keys.counters(0, 1, 86_400, day), f"{(second - day) // 3600}:h:extract")
    assert value is not None and len(value) <= COMPACT_BYTES
    assert unpack_histogram(value) == Counter(bucket_of(x) for x in latencies)
    unpacker = msgpack.Unpacker()
    unpacker.feed(value)
    assert 1 <= len(list(unpacker)) < 80, "summed into one map when it grew, appended to since"


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
    (dedupe_set,) = client.scan_iter(match=keys.dedupe(0, 1, 0).rsplit(":", 1)[0] + ":*")
    assert client.smembers(dedupe_set) == {b"x"}
    # kept at least dedupe_ttl_s after the id's apply, at most twice that
    assert settings.dedupe_ttl_s <= client.ttl(dedupe_set) <= 2 * settings.dedupe_ttl_s
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
