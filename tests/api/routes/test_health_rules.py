"""Health rules as scenarios against a real server, with a controlled clock (no sleeping)."""

import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.model.sketch import ALPHA
from tests.support.api import register
from tests.support.clock import Clock
from tests.support.events import event
from worker.consumer import DrainStats

Drain = Callable[..., DrainStats]


@pytest.fixture
def at_minute(clock: Clock) -> datetime:
    """A whole minute a little in the past of the real clock, where scenarios start (T0)."""
    t0 = clock.now.replace(second=0, microsecond=0) - timedelta(minutes=30)
    clock.now = t0
    return t0


def system(api: TestClient, name: str, **policy: Any) -> int:
    response = api.post("/systems", json={"name": name, "policy": policy})
    assert response.status_code == 201, response.text
    return int(response.json()["system_id"])


def send(api: TestClient, sid: int, events: list[dict[str, Any]]) -> None:
    for i in range(0, len(events), 5000):
        response = api.post(f"/systems/{sid}/events", json={"events": events[i : i + 5000]})
        assert response.status_code == 202, response.text


def per_second(t0: datetime, seconds: range, n: int, errors: int, **extra: Any) -> list[Any]:
    """`n` events in each second of `seconds` after t0, the first `errors` of them errors."""
    return [
        event(t0 + timedelta(seconds=s), status="error" if i < errors else "ok", **extra)
        for s in seconds
        for i in range(n)
    ]


def health_at(api: TestClient, clock: Clock, sid: int, at: datetime) -> dict[str, Any]:
    clock.now = at
    response = api.get(f"/systems/{sid}/health")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_steady_one_percent_error_stream_stays_ok(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "steady", sustain_seconds=60)
    send(api, sid, per_second(at_minute, range(-300, 0), 10, 0))
    errors = [event(at_minute + timedelta(seconds=s), status="error") for s in range(-300, 0, 10)]
    send(api, sid, errors)  # 30 errors among 3 030 events: 1 %
    drain()
    h = health_at(api, clock, sid, at_minute)
    assert h["health"] == "OK" and h["errors"] == 30


def test_one_burst_of_errors_does_not_go_unhealthy_with_a_sustain_time(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "bursty", sustain_seconds=60)
    send(api, sid, per_second(at_minute, range(-300, 0), 33, 0))  # ~10 000 events
    send(api, sid, per_second(at_minute, range(-100, -99), 30, 30))  # one second of 30 errors
    drain()
    h = health_at(api, clock, sid, at_minute)
    assert h["health"] == "OK", h["reason"]
    assert h["total"] == 9930 and h["errors"] == 30


def test_a_full_outage_goes_unhealthy_exactly_when_the_sustain_time_elapses(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "outage", sustain_seconds=60)
    send(api, sid, per_second(at_minute, range(-300, 0), 5, 0))
    send(api, sid, per_second(at_minute, range(0, 90), 5, 5))  # outage from T0 on
    drain()

    before = health_at(api, clock, sid, at_minute + timedelta(seconds=59, milliseconds=500))
    assert before["health"] == "DEGRADED"
    assert before["reason"] == "unhealthy for 59 s of 60 s needed"
    after = health_at(api, clock, sid, at_minute + timedelta(seconds=60, milliseconds=500))
    assert after["health"] == "UNHEALTHY"
    assert after["reason"] == "unhealthy for 60 s (sustain 60 s)"
    rule = next(r for r in after["rules"] if r["name"] == "error_rate_unhealthy")
    assert rule["fired"] and rule["sets"] == "UNHEALTHY"


def test_recovery_shows_degraded_for_the_recovery_time_then_ok(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "recovers", window_seconds=60, sustain_seconds=30, recovery_seconds=120)
    clock.now = at_minute + timedelta(seconds=400)  # sending after the fact: no future events
    send(api, sid, per_second(at_minute, range(0, 60), 5, 5))  # outage T0 .. T0+60
    send(api, sid, per_second(at_minute, range(60, 400), 5, 0))  # then healthy
    drain()

    t1 = at_minute + timedelta(seconds=60)
    assert health_at(api, clock, sid, t1 - timedelta(seconds=1))["health"] == "UNHEALTHY"
    mid = health_at(api, clock, sid, t1 + timedelta(seconds=70))  # errors left the window
    assert mid["health"] == "DEGRADED" and mid["errors"] == 0
    assert mid["reason"] == "recovering: clear for 70 s of 120 s needed"
    assert health_at(api, clock, sid, t1 + timedelta(seconds=119))["health"] == "DEGRADED"
    assert health_at(api, clock, sid, t1 + timedelta(seconds=121))["health"] == "OK"


def test_a_silent_pipeline_goes_unhealthy_after_interval_plus_grace(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "nightly", expected_interval_seconds=600, grace_seconds=300)
    send(api, sid, [event(at_minute)])
    drain()
    quiet = health_at(api, clock, sid, at_minute + timedelta(seconds=900))
    assert quiet["health"] == "NO_DATA"
    dead = health_at(api, clock, sid, at_minute + timedelta(seconds=1260))
    assert dead["health"] == "UNHEALTHY"
    assert dead["reason"] == "silent for 1260 s (expected every 600 s + 300 s grace)"


@pytest.mark.parametrize(
    ("errors_per_20", "verdict", "rule"),
    [(3, "UNHEALTHY", "burn_rate_1h"), (2, "UNHEALTHY", "burn_rate_6h"),
     (1, "DEGRADED", "burn_rate_24h"), (0, "OK", None)],
)  # fmt: skip
def test_burn_rate_alerts_fire_on_the_documented_factors(
    api: TestClient,
    clock: Clock,
    at_minute: datetime,
    drain: Drain,
    errors_per_20: int,
    verdict: str,
    rule: str | None,
) -> None:
    # SLO 99 %: an error rate of 15 % burns the budget 15×, 10 % 10×, 5 % 5×.
    sid = system(api, "slo", burn_rate={"slo_target": 0.99},
                 degraded_error_rate=1, unhealthy_error_rate=1)  # fmt: skip
    blocks = [at_minute - timedelta(minutes=m) for m in range(0, 24 * 60, 5)]
    send(api, sid, [
        event(t, status="error" if i < errors_per_20 else "ok") for t in blocks for i in range(20)
    ])  # fmt: skip
    drain()
    h = health_at(api, clock, sid, at_minute + timedelta(seconds=1))
    assert h["health"] == verdict, h["reason"]
    fired = [r["name"] for r in h["rules"] if r["fired"]]
    if rule is None:
        assert fired == []
    else:
        assert fired[0] == rule


def test_consecutive_failures_in_a_stage_are_unhealthy_at_once(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "streaky", consecutive_failures=5)
    ok = [event(at_minute - timedelta(seconds=s), stage="extract") for s in range(1, 200)]
    fails = [event(at_minute - timedelta(seconds=s), status="error", stage="load",
                   run_id="r9") for s in range(1, 6)]  # fmt: skip
    send(api, sid, ok + fails)
    drain()
    h = health_at(api, clock, sid, at_minute)
    assert h["health"] == "UNHEALTHY"
    assert h["reason"] in ("5 consecutive errors in stage load (limit 5)",
                           "5 consecutive errors in run r9 (limit 5)")  # fmt: skip
    assert h["last_error"]["stage"] == "load" and h["last_error"]["run_id"] == "r9"


def test_too_few_events_are_no_data_not_a_false_alarm(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "quiet", min_events=20)
    send(api, sid, [event(at_minute - timedelta(seconds=5), status="error")])
    drain()
    h = health_at(api, clock, sid, at_minute)
    assert h["health"] == "NO_DATA"
    assert h["reason"] == "insufficient data: 1 events < min_events 20"


def test_latency_rules_use_the_p95(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = system(api, "slow", degraded_p95_ms=500, unhealthy_p95_ms=2000)
    send(api, sid, [event(at_minute - timedelta(seconds=s), latency_ms=900.0) for s in range(50)])
    drain()
    h = health_at(api, clock, sid, at_minute)
    assert h["health"] == "DEGRADED"
    assert h["reason"].startswith("p95 latency 9") and h["reason"].endswith("≥ 500 ms")


def test_percentiles_per_stage_are_within_the_sketch_accuracy_of_exact(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    rng = random.Random(5)
    sid = system(api, "staged")
    sent: dict[str, list[float]] = {"extract": [], "transform": [], "load": []}
    events = []
    for stage, values in sent.items():
        for _ in range(700):
            v = rng.lognormvariate(4 if stage == "load" else 2, 1.2)
            values.append(v)
            events.append(event(at_minute - timedelta(seconds=rng.randrange(200)),
                                latency_ms=v, stage=stage))  # fmt: skip
    send(api, sid, events)
    drain()
    stages = health_at(api, clock, sid, at_minute)["stages"]
    assert set(stages) == set(sent)
    for stage, values in sent.items():
        ordered = sorted(values)
        for q, name in ((0.5, "p50_latency"), (0.95, "p95_latency"), (0.99, "p99_latency")):
            exact = ordered[math.ceil(q * len(ordered)) - 1]
            assert abs(stages[stage][name] - exact) <= ALPHA * exact, (stage, name)
        assert stages[stage]["total"] == 700


def test_the_probe_answers_200_or_503_with_a_tiny_body(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    good, bad = system(api, "good"), system(api, "bad")
    picky = system(api, "picky", probe_no_data="unhealthy")
    send(api, good, [event(at_minute)])
    send(api, bad, [event(at_minute, status="error")])
    drain()
    clock.now = at_minute
    ok = api.get(f"/systems/{good}/health", params={"probe": 1})
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    assert ok.json() == {"system_id": good, "health": "OK", "reason": ok.json()["reason"]}
    assert api.get(f"/systems/{bad}/health", params={"probe": 1}).status_code == 503
    assert api.get(f"/systems/{picky}/health", params={"probe": 1}).status_code == 503
    head = api.head(f"/systems/{bad}/health", params={"probe": 1})
    assert head.status_code == 503 and head.content == b""

    overview = api.get("/health").json()["systems"]
    assert [s["health"] for s in overview] == ["UNHEALTHY", "NO_DATA", "OK"]
    assert [s["name"] for s in overview] == ["bad", "picky", "good"]


def test_policies_are_validated_stored_and_applied_at_once(
    api: TestClient, clock: Clock, at_minute: datetime, drain: Drain
) -> None:
    sid = register(api, "policy")
    url = f"/systems/{sid}/policy"
    view = api.get(url).json()
    assert view["policy"] == {k: None for k in view["policy"]}
    assert view["effective"]["window_seconds"] == 300

    bad = api.put(url, json={"degraded_error_rate": 0.6, "unhealthy_error_rate": 0.5})
    assert bad.status_code == 422
    assert api.put(url, json={"sustain_seconds": -1}).status_code == 422
    assert api.put(url, json={"nonsense": 1}).status_code == 422
    assert api.put("/systems/999/policy", json={}).status_code == 404

    send(api, sid, [event(at_minute, status="error"), event(at_minute)])
    drain()
    assert health_at(api, clock, sid, at_minute)["health"] == "UNHEALTHY"
    assert api.put(url, json={"unhealthy_error_rate": 0.9}).status_code == 200
    h = health_at(api, clock, sid, at_minute)
    assert h["health"] == "DEGRADED" and h["policy"]["unhealthy_error_rate"] == 0.9
    assert (
        api.post("/systems", json={"name": "x", "policy": {"window_seconds": 5}}).status_code == 422
    )
    assert [s["name"] for s in api.get("/systems").json()["systems"]] == ["policy"]
