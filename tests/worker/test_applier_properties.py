"""Property: whatever the batches, re-deliveries and crashes, the counters equal an exact
recomputation from the accepted events (each event_id once per system), at every resolution."""

from collections import Counter
from typing import Any

import redis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from shared.model.sketch import bucket_of
from shared.model.stats import parsed
from shared.model.time_slots import HISTOGRAM_LEVEL, LEVELS
from shared.settings import Settings
from shared.store import keys
from tests.support.events import now_ms, row
from tests.support.store import append, raw_rows
from worker import streams
from worker.applier import RedisApplier

RAW_RETENTION_MS = Settings().raw_retention_s * 1000
# No `explain` phase: it re-runs a failing example many times against the store, for little gain.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)

events = st.tuples(
    # age in ms, across many containers: within the raw retention (1 h), or clearly past it
    st.integers(0, 3_000_000) | st.integers(4_000_000, 7_200_000),
    st.booleans(),  # is_error
    st.sampled_from([0.0, 0.5, 3.0, 3.03, 250.0, 1e4]),  # latency
    st.none() | st.sampled_from(["a", "b", "c", "d"]),  # event_id from a small pool
)
batches = st.lists(
    st.tuples(st.sampled_from([1, 2]), st.lists(events, min_size=1, max_size=20)),
    min_size=1,
    max_size=12,
)
# What happens to each delivered entry: applied, applied twice (a stale consumer), or the consumer
# crashes before applying it (the entry stays pending and another consumer reclaims it).
fates = st.lists(st.sampled_from(["apply", "twice", "crash"]), min_size=12, max_size=12)


def run(store: redis.Redis, plan: list[tuple[int, list[Any]]], fate: list[str]) -> None:
    cfg = Settings(redis_url="redis://unused")
    applier = RedisApplier(store, cfg)
    streams.ensure_groups(store, 1)
    # Ages count from this example's own start: a module-level "now" aged with the suite, and
    # an event 50 min old at collection time fell past the 1 h raw retention 10 min later.
    start_ms = now_ms()
    for sid, evs in plan:
        rows = [
            row(start_ms - age, error=err, latency_ms=lat, event_type="t", stage=None, run_id=None,
                event_id=eid)
            for age, err, lat, eid in evs
        ]  # fmt: skip
        append(store, sid, rows)
    delivered = streams.read(store, "first", 1, 100, None)
    for entry, what in zip(delivered, fate, strict=False):
        if what != "crash":
            applier.apply([entry])
        if what == "twice":
            applier.apply([entry])
    _, reclaimed = streams.claim(store, "second", 0, 0, "0-0", 100)
    applier.apply(reclaimed)


def apply_order(plan: list[tuple[int, list[Any]]], fate: list[str]) -> list[tuple[int, list[Any]]]:
    """Batches in the order they are applied: crashed ones last, when they are reclaimed. Among
    events that share an event_id, the first one applied is the one counted."""
    survived = [b for b, what in zip(plan, fate, strict=False) if what != "crash"]
    return survived + [b for b, what in zip(plan, fate, strict=False) if what == "crash"]


def expected(plan: list[tuple[int, list[Any]]]) -> dict[int, Counter[str]]:
    seen: set[tuple[int, str]] = set()
    out: dict[int, Counter[str]] = {1: Counter(), 2: Counter()}
    for sid, evs in plan:
        for age, err, lat, eid in evs:
            if eid is not None:
                if (sid, eid) in seen:
                    continue
                seen.add((sid, eid))
            out[sid][bucket_of(lat)] += 1
            out[sid]["n"] += 1
            out[sid]["e"] += int(err)
            out[sid]["raw"] += int(age < RAW_RETENTION_MS)
    return out


def counted(store: redis.Redis, sid: int, container_s: int) -> Counter[str]:
    found: Counter[str] = Counter()
    pattern = keys.counters(0, sid, container_s, 0).rsplit(":", 1)[0] + ":*"
    for key in store.scan_iter(pattern):
        for _, bucket, _, n in parsed(store.hgetall(key)):
            found[bucket] += n
    return found


def check(store: redis.Redis, plan: list[tuple[int, list[Any]]], fate: list[str]) -> None:
    run(store, plan, fate)
    want = expected(apply_order(plan, fate))
    for sid in (1, 2):
        raw = want[sid].pop("raw", 0)
        for index, level in enumerate(LEVELS):
            want_here = (
                +want[sid]
                if index >= HISTOGRAM_LEVEL
                else +Counter({name: n for name, n in want[sid].items() if name in ("n", "e")})
            )
            assert +counted(store, sid, level.container_s) == want_here, (sid, level)
        assert len(raw_rows(store, sid)) == raw
    assert store.xpending(keys.stream(0), keys.GROUP)["pending"] == 0
    stats = store.hgetall(keys.partition_stats(0))
    assert stats[b"events_in"] == stats[b"events_out"]


# On a real server only: apply.lua merges histograms with cmsgpack, which fakeredis's Lua lacks.
@settings(
    max_examples=40,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=batches, fate=fates)
def test_counters_equal_an_exact_recount_on_a_real_server(
    server_url: str, plan: list[tuple[int, list[Any]]], fate: list[str]
) -> None:
    store = redis.Redis.from_url(server_url, protocol=3)
    store.flushall()
    try:
        check(store, plan, fate)
    finally:
        store.close()
