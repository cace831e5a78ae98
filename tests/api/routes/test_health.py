"""GET /systems/{id}/health: window edges, verdicts, isolation, percentile accuracy."""

import math
import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shared.model.sketch import ALPHA
from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from worker.consumer import DrainStats

Drain = Callable[..., DrainStats]


def health(api: TestClient, sid: int, **params: int) -> dict[str, object]:
    response = api.get(f"/systems/{sid}/health", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_window_counts_events_299_s_old_and_not_301_s_old(
    api: TestClient, clock: Clock, drain: Drain
) -> None:
    sid = register(api)
    now = clock.now
    post_events(
        api,
        sid,
        [
            event(now - timedelta(seconds=299), status="error"),
            event(now - timedelta(seconds=301)),
            event(now - timedelta(seconds=3601)),
            event(now),
        ],
    )
    drain()

    h = health(api, sid)
    assert (h["total"], h["errors"], h["window_seconds"]) == (2, 1, 300)
    assert health(api, sid, window_seconds=600)["total"] == 3
    assert health(api, sid, window_seconds=86_400)["total"] == 4

    clock.now = now + timedelta(seconds=2)  # the window moves with the clock
    assert health(api, sid)["total"] == 1


def test_an_empty_window_is_no_data(api: TestClient) -> None:
    sid = register(api)
    h = health(api, sid)
    assert h["health"] == "NO_DATA" and h["total"] == 0 and h["error_rate"] == 0.0
    assert h["last_event_at"] is None
    assert "no events" in str(h["reason"])


@pytest.mark.parametrize(
    ("errors", "verdict", "reason"),
    [
        (0, "OK", "within thresholds: error rate 0 < 0.05"),
        (4, "OK", "within thresholds: error rate 0.04 < 0.05"),
        (5, "DEGRADED", "error rate 0.05 ≥ 0.05"),
        (12, "DEGRADED", "error rate 0.12 ≥ 0.05"),
        (50, "UNHEALTHY", "error rate 0.5 ≥ 0.5"),
        (100, "UNHEALTHY", "error rate 1 ≥ 0.5"),
    ],
)
def test_the_verdict_follows_the_error_rate_thresholds(
    api: TestClient, clock: Clock, drain: Drain, errors: int, verdict: str, reason: str
) -> None:
    sid = register(api)
    post_events(
        api, sid, [event(clock.now, status="error" if i < errors else "ok") for i in range(100)]
    )
    drain()

    h = health(api, sid)
    assert (h["health"], h["total"], h["errors"]) == (verdict, 100, errors)
    assert h["error_rate"] == errors / 100
    assert h["rps"] == pytest.approx(100 / 300)
    assert h["reason"] == reason
    assert set(h) >= {
        "system_id", "window_seconds", "window_start", "window_end", "health", "reason", "total",
        "errors", "error_rate", "rps", "p50_latency", "p95_latency", "p99_latency", "last_event_at",
    }  # fmt: skip


def test_events_of_one_system_never_show_in_another(
    api: TestClient, clock: Clock, drain: Drain
) -> None:
    a, b, c = register(api, "a"), register(api, "b"), register(api, "c")
    post_events(api, a, [event(clock.now, status="error")] * 7)
    post_events(api, b, [event(clock.now, latency_ms=900.0)] * 3)
    drain()

    assert (health(api, a)["total"], health(api, a)["errors"]) == (7, 7)
    hb = health(api, b)
    assert (hb["total"], hb["errors"], hb["p95_latency"]) == (3, 0, pytest.approx(900, rel=ALPHA))
    assert health(api, c)["total"] == 0


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)), 1) - 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_within_the_sketch_accuracy_of_the_exact_nearest_rank(
    api: TestClient, clock: Clock, drain: Drain, seed: int
) -> None:
    rng = random.Random(seed)
    latencies = [rng.lognormvariate(3, 1.5) for _ in range(3000)] + [0.0] * 5
    sid = register(api)
    for chunk in range(0, len(latencies), 1000):
        post_events(
            api,
            sid,
            [
                event(clock.now - timedelta(seconds=rng.randrange(250)), latency_ms=v)
                for v in latencies[chunk : chunk + 1000]
            ],
        )
    drain()

    h = health(api, sid)
    for q, name in [(0.5, "p50_latency"), (0.95, "p95_latency"), (0.99, "p99_latency")]:
        exact = nearest_rank(latencies, q)
        assert abs(float(h[name]) - exact) <= ALPHA * exact, (name, h[name], exact)  # type: ignore[arg-type]


def test_last_event_at_is_the_newest_event_time(
    api: TestClient, clock: Clock, drain: Drain
) -> None:
    sid = register(api)
    newest = clock.now - timedelta(seconds=5)
    post_events(api, sid, [event(newest - timedelta(seconds=30)), event(newest)])
    drain()
    at = str(health(api, sid)["last_event_at"])
    assert at.startswith(newest.strftime("%Y-%m-%dT%H:%M:%S"))


@pytest.mark.parametrize("window", [0, 9, 86_401, -5])
def test_a_window_out_of_range_is_422(api: TestClient, window: int) -> None:
    sid = register(api)
    response = api.get(f"/systems/{sid}/health", params={"window_seconds": window})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "window_seconds"]


def test_health_of_an_unknown_system_is_404(api: TestClient) -> None:
    assert api.get("/systems/77/health").status_code == 404
