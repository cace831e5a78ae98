"""Planning an apply (pure): pre-aggregation, dedupe guards, expiry of counter containers."""

import orjson

from shared.model.codec import RAW_CHUNK_MS, Batch, Row, decode_batch, encode_batch
from shared.model.sketch import bucket_of
from shared.model.time_slots import LEVELS
from shared.settings import Settings
from shared.store import keys
from worker.plan import plan_apply

NOW_MS = 1_800_000_000_000


def ev(ts_ms: int = NOW_MS, *, error: bool = False, event_id: str | None = None) -> Row:
    return Row(ts_ms, int(error), 10.0, "load", None, None, event_id, None)


def test_events_without_ids_share_one_contribution_with_summed_increments() -> None:
    batch = Batch(3, [ev(), ev(NOW_MS + 1), ev(error=True)])
    plan = plan_apply([("1-0", batch)], 0, Settings(), NOW_MS)

    assert plan.keys[:4] == [
        keys.stream(0),
        keys.raw_events(0, 3),
        keys.system_meta(0, 3),
        keys.partition_stats(0),
    ]
    counter_keys = [k for k in plan.keys if ":c:3:" in k]
    assert len(counter_keys) == len(LEVELS)  # one second: one container per resolution
    (contribution,) = orjson.loads(plan.args[8])["k"]
    guard, _, newest_error_ms, newest_error, first, last, increments, runs = contribution
    assert guard == 0, "unconditional"
    assert newest_error_ms == str(NOW_MS) and orjson.loads(newest_error)[1] == 1
    assert plan.args[9:11] == [1, "1-0"], "one entry, then its id"
    score, member = plan.args[first - 1 : last]
    assert score == NOW_MS - NOW_MS % RAW_CHUNK_MS, "one member per batch and chunk"
    assert [r[0] for r in orjson.loads(member)[1]] == [NOW_MS, NOW_MS + 1, NOW_MS]
    # per level: a count and an error field; from the 10-s level on, one histogram field too
    # (all three events fall in one latency bucket)
    fields = [str(f).split(":")[1] for f in increments[1::3]]
    bucket = bucket_of(10.0)
    assert sorted(fields) == sorted(["n", "e"] * len(LEVELS) + [bucket] * (len(LEVELS) - 1))
    assert sorted(set(increments[2::3])) == [1, 3]
    assert runs == []


def test_a_decoded_batch_in_one_bucket_is_stored_as_it_came() -> None:
    rows = [[NOW_MS, 0, 1.5, "load", None, None, None, {"k": 1}]] * 2
    fields = encode_batch(3, rows)
    plan = plan_apply([("7-1", decode_batch(fields))], 0, Settings(), NOW_MS)
    (contribution,) = orjson.loads(plan.args[8])["k"]
    score, member = plan.args[contribution[4] - 1 : contribution[5]]
    assert member == b'["7-1",' + fields[b"e"] + b"]"


def test_a_batch_across_buckets_is_split_per_bucket() -> None:
    later = NOW_MS + RAW_CHUNK_MS
    plan = plan_apply([("1-0", Batch(3, [ev(), ev(later), ev(NOW_MS + 1)]))], 0, Settings(), NOW_MS)
    (contribution,) = orjson.loads(plan.args[8])["k"]
    pairs = plan.args[contribution[4] - 1 : contribution[5]]
    stored = {
        s: [r[0] for r in orjson.loads(m)[1]] for s, m in zip(pairs[::2], pairs[1::2], strict=True)
    }
    start = NOW_MS - NOW_MS % RAW_CHUNK_MS
    assert stored == {start: [NOW_MS, NOW_MS + 1], start + RAW_CHUNK_MS: [later]}


def test_entries_of_one_system_are_aggregated_into_one_contribution() -> None:
    plan = plan_apply([("1-0", Batch(3, [ev()])), ("2-0", Batch(3, [ev()]))], 0, Settings(), NOW_MS)
    assert plan.args[9:12] == [2, "1-0", "2-0"]
    (contribution,) = orjson.loads(plan.args[8])["k"]
    assert set(contribution[6][2::3]) == {2}, "every field incremented once, by both events"


def test_each_event_with_an_id_is_guarded_by_its_own_dedupe_marker() -> None:
    batch = Batch(3, [ev(event_id="a"), ev(event_id="b"), ev()])
    plan = plan_apply([("1-0", batch)], 1, Settings(partitions=2), NOW_MS)
    assert keys.dedupe(1, 3, "a") in plan.keys and keys.dedupe(1, 3, "b") in plan.keys
    assert all(k.startswith("lso:{p1}:") for k in plan.keys), "one hash slot per apply"


def test_counter_containers_expire_after_their_end_plus_the_retention() -> None:
    settings = Settings()
    plan = plan_apply([("1-0", Batch(3, [ev()]))], 0, settings, NOW_MS)
    expiries = orjson.loads(plan.args[8])["c"]
    second = NOW_MS // 1000
    assert len(expiries) == len(LEVELS)
    for key_pos, at in expiries:
        container_s, start = map(int, plan.keys[key_pos - 1].rsplit(":", 2)[1:])
        assert start <= second < start + container_s
        assert at == start + container_s + settings.counter_retention_s
