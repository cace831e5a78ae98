"""Planning an apply (pure): pre-aggregation, dedupe lookups, expiry of counter containers."""

from typing import Any

import orjson

from shared.model.codec import RAW_CHUNK_MS, Batch, Row, decode_batch, encode_batch
from shared.model.events import RUN_END
from shared.model.sketch import bucket_of
from shared.model.time_slots import LEVELS, unpack_histogram
from shared.settings import Settings
from shared.store import keys
from worker.plan import dedupe_buckets, plan_apply

NOW_MS = 1_800_000_000_000


def ev(
    ts_ms: int = NOW_MS,
    *,
    error: bool = False,
    event_id: str | None = None,
    latency_ms: float = 10.0,
    stage: str | None = None,
    run_id: str | None = None,
    event_type: str = "load",
) -> Row:
    return Row(ts_ms, int(error), latency_ms, event_type, stage, run_id, event_id, None)


def body(plan_args: list[Any]) -> dict[str, Any]:
    return orjson.loads(plan_args[8])  # type: ignore[no-any-return]


def members(plan_args: list[Any]) -> list[Any]:
    first, last = body(plan_args)["m"]
    return plan_args[first - 1 : last]


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
    plan_body = body(plan.args)
    assert plan_body["e"] == str(NOW_MS) and orjson.loads(plan_body["em"])[1] == 1
    assert plan.args[9:11] == [1, "1-0"], "one entry, then its id"
    score, member = members(plan.args)
    assert score == NOW_MS - NOW_MS % RAW_CHUNK_MS, "one member per batch and chunk"
    assert [r[0] for r in orjson.loads(member)[1]] == [NOW_MS, NOW_MS + 1, NOW_MS]
    # per level: a count and an error field ...
    increments = plan_body["i"]
    fields = sorted(str(f).split(":")[1] for f in increments[1::3])
    assert fields == sorted(["n", "e"] * len(LEVELS))
    assert sorted(set(increments[2::3])) == [1, 3]
    # ... and from the 10-s level on, one histogram field: all three in one latency bucket
    merges = plan_body["h"]
    assert [str(f).split(":")[1] for f in merges[1::3]] == ["h"] * (len(LEVELS) - 1)
    additions = [unpack_histogram(plan.args[i - 1]) for i in merges[2::3]]
    assert additions == [{bucket_of(10.0): 3}] * (len(LEVELS) - 1)
    assert plan_body["r"] == []
    assert "g" not in plan_body, "no event ids: no dedupe lookups"


def test_histograms_are_kept_per_slot_and_stage() -> None:
    batch = Batch(3, [ev(latency_ms=1.0, stage="a"), ev(latency_ms=0.0, stage="a"), ev(stage="b")])
    plan = plan_apply([("1-0", batch)], 0, Settings(), NOW_MS)
    merges = body(plan.args)["h"]
    ten_s = [
        (name, unpack_histogram(plan.args[i - 1]))
        for pos, name, i in zip(merges[::3], merges[1::3], merges[2::3], strict=True)
        if plan.keys[pos - 1].split(":")[-2] == "60"
    ]
    slot = (NOW_MS // 1000 % 60) // 10
    assert sorted(ten_s) == [
        (f"{slot}:h:a", {bucket_of(1.0): 1, "z": 1}),
        (f"{slot}:h:b", {bucket_of(10.0): 1}),
    ]


def test_a_decoded_batch_in_one_bucket_is_stored_as_it_came() -> None:
    rows = [[NOW_MS, 0, 1.5, "load", None, None, None, {"k": 1}]] * 2
    fields = encode_batch(3, rows)
    plan = plan_apply([("7-1", decode_batch(fields))], 0, Settings(), NOW_MS)
    _, member = members(plan.args)
    assert member == b'["7-1",' + fields[b"e"] + b"]"


def test_a_batch_across_buckets_is_split_per_bucket() -> None:
    later = NOW_MS + RAW_CHUNK_MS
    plan = plan_apply([("1-0", Batch(3, [ev(), ev(later), ev(NOW_MS + 1)]))], 0, Settings(), NOW_MS)
    pairs = members(plan.args)
    stored = {
        s: [r[0] for r in orjson.loads(m)[1]] for s, m in zip(pairs[::2], pairs[1::2], strict=True)
    }
    start = NOW_MS - NOW_MS % RAW_CHUNK_MS
    assert stored == {start: [NOW_MS, NOW_MS + 1], start + RAW_CHUNK_MS: [later]}


def test_entries_of_one_system_are_aggregated_into_one_contribution() -> None:
    plan = plan_apply([("1-0", Batch(3, [ev()])), ("2-0", Batch(3, [ev()]))], 0, Settings(), NOW_MS)
    assert plan.args[9:12] == [2, "1-0", "2-0"]
    assert set(body(plan.args)["i"][2::3]) == {2}, "every field incremented once, by both events"


def test_event_ids_are_looked_up_in_the_dedupe_sets_of_their_window() -> None:
    settings = Settings(partitions=2)
    batch = Batch(3, [ev(event_id="a"), ev(event_id="b"), ev(), ev(event_id="a")])
    plan = plan_apply([("1-0", batch)], 1, settings, NOW_MS)
    plan_body = body(plan.args)
    into, lookups = dedupe_buckets(NOW_MS, settings.dedupe_ttl_s)
    assert plan_body["g"] == ["a", "b"], "a repeat within the call counts once"
    assert [plan.keys[i - 1] for i in plan_body["l"]] == [keys.dedupe(1, 3, b) for b in lookups]
    assert plan.keys[plan_body["w"] - 1] == keys.dedupe(1, 3, into)
    assert plan.guards == [(0, 0), (0, 1)] and plan.left_out == {0: 1}
    assert all(k.startswith("lso:{p1}:") for k in plan.keys), "one hash slot per apply"


def test_dedupe_sets_cover_at_least_the_ttl_before_now() -> None:
    ttl_s = 86_400
    into, lookups = dedupe_buckets(NOW_MS, ttl_s)
    width_s = ttl_s // 2
    oldest_covered_s = lookups[0] * width_s
    assert NOW_MS // 1000 - oldest_covered_s >= ttl_s
    assert into in lookups and lookups[-1] == into + 1


def test_known_duplicates_are_left_out_and_the_rest_keeps_its_refs() -> None:
    batch = Batch(3, [ev(event_id="a"), ev(event_id="b", error=True), ev()])
    plan = plan_apply([("1-0", batch)], 0, Settings(), NOW_MS, {0: {0}})
    plan_body = body(plan.args)
    assert plan_body["g"] == ["b"] and plan.left_out == {0: 1}
    refs = [orjson.loads(m)[0].split("@")[0] for m in members(plan.args)[1::2]]
    assert refs == ["1-0/1", "1-0/2"], "each kept event on its own, named by its place"
    assert orjson.loads(plan_body["em"])[0] == "1-0/1"
    assert set(body(plan.args)["i"][2::3]) == {1, 2}


def test_runs_are_summed_per_run_and_a_tie_keeps_the_end() -> None:
    batch = Batch(
        3,
        [
            ev(NOW_MS, run_id="r", stage="s"),
            ev(NOW_MS + 5, run_id="r", event_type=RUN_END),
            ev(NOW_MS + 5, run_id="r", error=True),
            ev(NOW_MS - 3, run_id="q"),
        ],
    )
    plan = plan_apply([("1-0", batch)], 0, Settings(), NOW_MS)
    runs = {run[1]: run[2:] for run in body(plan.args)["r"]}
    assert runs["r"] == [2, 1, str(NOW_MS), str(NOW_MS + 5), 0, RUN_END, ["s", 1]]
    assert runs["q"] == [1, 0, str(NOW_MS - 3), str(NOW_MS - 3), 0, "load", []]


def test_counter_containers_expire_after_their_end_plus_the_retention() -> None:
    settings = Settings()
    plan = plan_apply([("1-0", Batch(3, [ev()]))], 0, settings, NOW_MS)
    expiries = body(plan.args)["c"]
    second = NOW_MS // 1000
    assert len(expiries) == len(LEVELS)
    for key_pos, at in expiries:
        container_s, start = map(int, plan.keys[key_pos - 1].rsplit(":", 2)[1:])
        assert start <= second < start + container_s
        assert at == start + container_s + settings.counter_retention_s
