"""Runs: events sharing a run_id, summarised with outcome and duration flags."""

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.support.api import post_events
from tests.support.clock import Clock
from tests.support.events import event
from worker.consumer import DrainStats


def test_runs_are_summarised_with_outcome_stages_and_flags(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    policy = {"run_idle_seconds": 600, "max_run_seconds": 3000, "min_run_seconds": 5}
    sid = api.post("/systems", json={"name": "nightly", "policy": policy}).json()["system_id"]
    now = clock.now
    t = now - timedelta(hours=2)
    post_events(api, sid, [
        # a normal run that ended with run_end, one retried error inside
        event(t, run_id="ok", stage="extract", event_id="ok-1"),
        event(t + timedelta(seconds=30), run_id="ok", stage="transform", status="error"),
        event(t + timedelta(seconds=60), run_id="ok", stage="transform"),
        {**event(t + timedelta(seconds=120), run_id="ok", stage="load"), "event_type": "run_end"},
        # a run whose last event is an error, quiet since: failed
        event(t + timedelta(seconds=10), run_id="bad", stage="load", status="error"),
        # a run that "succeeded" in 0.2 s
        event(t, run_id="fast"),
        {**event(t + timedelta(milliseconds=200), run_id="fast"), "event_type": "run_end"},
        # still running, started 70 min ago
        event(now - timedelta(minutes=70), run_id="long", stage="extract"),
        event(now - timedelta(minutes=1), run_id="long", stage="extract"),
    ])  # fmt: skip
    post_events(api, sid, [event(t, run_id="ok", stage="extract", event_id="ok-1")])  # a retry
    drain()

    runs = {r["run_id"]: r for r in api.get(f"/systems/{sid}/runs").json()["runs"]}
    assert list(runs) == ["long", "ok", "bad", "fast"]  # most recently active first
    ok = runs["ok"]
    # the run_end marker bounds the run but is not one of its events
    assert (ok["outcome"], ok["events"], ok["errors"], ok["duration_seconds"]) == (
        "succeeded", 3, 1, 120.0,
    )  # fmt: skip
    assert ok["stages"] == {"extract": 1, "transform": 2} and ok["flags"] == []
    assert runs["bad"]["outcome"] == "failed"
    assert (runs["fast"]["outcome"], runs["fast"]["flags"]) == ("succeeded", ["too_fast"])
    assert (runs["long"]["outcome"], runs["long"]["flags"]) == ("running", ["too_long"])
    assert len(api.get(f"/systems/{sid}/runs", params={"limit": 2}).json()["runs"]) == 2
    assert api.get(f"/systems/{sid}/runs", params={"limit": 0}).status_code == 422
    assert api.get("/systems/999/runs").status_code == 404


def test_run_markers_bound_a_run_and_are_not_counted_in_health(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid = api.post("/systems", json={"name": "marked", "policy": {"min_events": 1}}).json()[
        "system_id"
    ]
    t = clock.now - timedelta(seconds=50)
    post_events(api, sid, [
        {**event(t, run_id="r1"), "event_type": "run_start"},
        event(t + timedelta(seconds=10), run_id="r1", stage="extract", latency_ms=100),
        event(t + timedelta(seconds=20), run_id="r1", stage="load", latency_ms=300, status="error"),
        {**event(t + timedelta(seconds=30), run_id="r1", status="error", latency_ms=30_000),
         "event_type": "run_end"},
        {**event(t + timedelta(seconds=40)), "event_type": "note", "status": "error"},
    ])  # fmt: skip
    # A stage event at the very ms of the run's end, applied after it: the run stays ended.
    post_events(api, sid, [event(t + timedelta(seconds=30), run_id="r1", stage="load")])
    post_events(api, sid, [{**event(t, run_id="r2"), "event_type": "run_start"}])
    drain()

    runs = {r["run_id"]: r for r in api.get(f"/systems/{sid}/runs").json()["runs"]}
    r1 = runs["r1"]
    assert (r1["outcome"], r1["events"], r1["errors"], r1["duration_seconds"]) == (
        "failed", 3, 1, 30.0,
    )  # fmt: skip
    assert r1["stages"] == {"extract": 1, "load": 2}
    assert (runs["r2"]["outcome"], runs["r2"]["events"]) == ("running", 0)
    health = api.get(f"/systems/{sid}/health").json()
    # three counted events (two stages and the late load), one error; not the markers, not the note
    assert (health["total"], health["errors"]) == (3, 1)
    assert health["p99_latency"] < 1000  # the run_end's 30 s is not a latency
    assert health["last_event_at"] == (t + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    events = api.get(f"/systems/{sid}/events").json()["events"]
    assert sorted(e["event_type"] for e in events).count("run_start") == 2
    assert "note" in {e["event_type"] for e in events}  # kept as a raw event
