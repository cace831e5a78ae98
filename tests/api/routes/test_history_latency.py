"""The history's latency percentiles per step (the dashboard's p50/p95/p99 chart)."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from worker.consumer import DrainStats


def test_each_step_has_its_p50_p95_and_p99_within_the_sketch_accuracy(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    t0 = clock.now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    sid = register(api)
    # Step 1: latencies 1..100 ms; step 2: all 500 ms; step 3: nothing.
    post_events(api, sid, [event(t0 + timedelta(seconds=i % 60), latency_ms=float(i + 1))
                           for i in range(100)])  # fmt: skip
    post_events(api, sid, [event(t0 + timedelta(seconds=60 + i), latency_ms=500.0)
                           for i in range(10)])  # fmt: skip
    drain()
    params = {"from": t0.isoformat(), "to": (t0 + timedelta(seconds=179)).isoformat(), "step": 60}
    points = api.get(f"/systems/{sid}/health/history", params=params).json()["points"]

    first, second, empty = points
    assert first["p50_latency"] == pytest.approx(50, rel=0.02)
    assert first["p95_latency"] == pytest.approx(95, rel=0.02)
    assert first["p99_latency"] == pytest.approx(99, rel=0.02)
    assert [second[f"p{q}_latency"] for q in (50, 95, 99)] == [pytest.approx(500, rel=0.02)] * 3
    assert [empty[f"p{q}_latency"] for q in (50, 95, 99)] == [0.0, 0.0, 0.0]
