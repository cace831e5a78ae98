"""Counting one apply call's events in columns (worker/tally.py) against the per-event rules."""

import math
import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from shared.model.codec import Row
from shared.model.sketch import GAMMA, bucket_of
from worker.tally import bucket_indexes, tally

NOW_MS = 1_800_000_000_000


def names(latencies: list[float]) -> list[str]:
    indexes = bucket_indexes(np.array(latencies, dtype=np.float64)).tolist()
    return ["z" if i < -(2**30) else str(i) for i in indexes]


def test_bucket_indexes_are_exactly_the_buckets_of_bucket_of_even_at_their_edges() -> None:
    rng = random.Random(7)
    edges = [GAMMA**k for k in range(-200, 400)]
    latencies = (
        [0.0, 1.0, 10.0, 0.01, 1e6]
        + edges
        + [math.nextafter(x, math.inf) for x in edges]
        + [math.nextafter(x, 0.0) for x in edges]
        + [round(rng.lognormvariate(3, 2), 2) for _ in range(5000)]
    )
    assert names(latencies) == [bucket_of(x) for x in latencies]


@given(st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False), max_size=50))
def test_bucket_indexes_match_bucket_of_for_any_latency(latencies: list[float]) -> None:
    assert names(latencies) == [bucket_of(x) for x in latencies]


def test_counts_errors_and_histograms_per_slot_and_stage() -> None:
    events = [
        Row(NOW_MS, 0, 1.0, "load", "a", None, None, None),
        Row(NOW_MS + 1500, 1, 1.0, "load", "a", None, None, None),
        Row(NOW_MS + 200, 0, 0.0, "load", None, None, None, None),
    ]
    out = tally(events, with_uncounted=False)
    second = NOW_MS // 1000
    start = second - second % 10
    assert out.counts[(10, start)] == {
        f"{second - start}:n:a": 1,
        f"{second - start + 1}:n:a": 1,
        f"{second - start + 1}:e:a": 1,
        f"{second - start}:n": 1,
    }
    hour = second - second % 86_400
    slot = (second - hour) // 3600
    assert out.histograms[(86_400, hour)] == {
        f"{slot}:h:a": {bucket_of(1.0): 2},
        f"{slot}:h": {"z": 1},
    }
    assert out.newest_ms == NOW_MS + 1500 and out.newest_error == 1


def test_run_markers_and_notes_count_in_runs_only() -> None:
    events = [
        Row(NOW_MS, 0, 0.0, "run_start", None, "r", None, None),
        Row(NOW_MS + 1, 1, 5.0, "load", "s", "r", None, None),
        Row(NOW_MS + 2, 0, 0.0, "note", None, "r", None, None),
    ]
    out = tally(events, with_uncounted=True)
    assert sum(f.endswith(":n") or ":n:" in f for c in out.counts.values() for f in c) == 5
    (run,) = out.runs
    assert (run.events, run.errors, run.first_ms, run.last_ms) == (1, 1, NOW_MS, NOW_MS + 1)
    assert run.stages == {"s": 1} and run.last_type == "load"
    assert out.newest_error == 1
