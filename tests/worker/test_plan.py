"""Planning an apply (pure): pre-aggregation, dedupe guards, expiry of counter containers."""

from shared import keys
from shared.buckets import LEVELS
from shared.codec import Batch, CompactEvent
from shared.settings import Settings
from worker.plan import plan_apply

NOW_MS = 1_800_000_000_000


def ev(ts_ms: int = NOW_MS, *, error: bool = False, event_id: str | None = None) -> CompactEvent:
    return CompactEvent(ts_ms, error, 10.0, "load", None, None, event_id, None)


def test_events_without_ids_share_one_contribution_with_summed_increments() -> None:
    batch = Batch(3, [ev(), ev(NOW_MS + 1), ev(error=True)])
    plan = plan_apply(batch, 0, "1-0", Settings(), NOW_MS)

    assert plan.keys[:4] == [
        keys.stream(0),
        keys.raw_events(0, 3),
        keys.system_meta(0, 3),
        keys.partition_stats(0),
    ]
    counter_keys = [k for k in plan.keys if ":c:3:" in k]
    assert len(counter_keys) == len(LEVELS)  # one second: one container per resolution
    containers = plan.args[9]
    body = plan.args[10 + 2 * containers :]
    assert body[0] == 0, "unconditional"
    assert body[2] == NOW_MS and body[3], "the newest error and its raw member"
    assert body[4] == 3, "three raw members"
    increments = body[5 + 2 * 3]
    # per level: one bucket field (all three events in one latency bucket) and one error field
    assert increments == 2 * len(LEVELS)
    amounts = body[6 + 2 * 3 :][2::3]
    assert sorted(set(amounts)) == [1, 3]


def test_each_event_with_an_id_is_guarded_by_its_own_dedupe_marker() -> None:
    batch = Batch(3, [ev(event_id="a"), ev(event_id="b"), ev()])
    plan = plan_apply(batch, 1, "1-0", Settings(partitions=2), NOW_MS)
    assert keys.dedupe(1, 3, "a") in plan.keys and keys.dedupe(1, 3, "b") in plan.keys
    assert all(k.startswith("lso:{p1}:") for k in plan.keys), "one hash slot per apply"


def test_counter_containers_expire_after_their_end_plus_the_retention() -> None:
    settings = Settings()
    plan = plan_apply(Batch(3, [ev()]), 0, "1-0", settings, NOW_MS)
    containers = int(plan.args[9])
    pairs = plan.args[10 : 10 + 2 * containers]
    second = NOW_MS // 1000
    for key_pos, at in zip(pairs[::2], pairs[1::2], strict=True):
        container_s, start = map(int, plan.keys[int(key_pos) - 1].rsplit(":", 2)[1:])
        assert start <= second < start + container_s
        assert at == start + container_s + settings.counter_retention_s
