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
    assert (ok["outcome"], ok["events"], ok["errors"], ok["duration_seconds"]) == (
        "succeeded", 4, 1, 120.0,
    )  # fmt: skip
    assert ok["stages"] == {"extract": 1, "load": 1, "transform": 2} and ok["flags"] == []
    assert runs["bad"]["outcome"] == "failed"
    assert (runs["fast"]["outcome"], runs["fast"]["flags"]) == ("succeeded", ["too_fast"])
    assert (runs["long"]["outcome"], runs["long"]["flags"]) == ("running", ["too_long"])
    assert len(api.get(f"/systems/{sid}/runs", params={"limit": 2}).json()["runs"]) == 2
    assert api.get(f"/systems/{sid}/runs", params={"limit": 0}).status_code == 422
    assert api.get("/systems/999/runs").status_code == 404
