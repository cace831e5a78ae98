"""Health history for plots, and the raw events listing with filters and cursors."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from worker.consumer import DrainStats

Drain = Callable[..., DrainStats]


@pytest.fixture
def t0(clock: Clock) -> datetime:
    at = clock.now.replace(second=0, microsecond=0) - timedelta(minutes=20)
    clock.now = at + timedelta(minutes=10)
    return at


def test_history_gives_counters_and_a_verdict_per_step(
    api: TestClient, clock: Clock, t0: datetime, drain: Drain
) -> None:
    sid = register(api)
    post_events(api, sid, [event(t0 + timedelta(seconds=s)) for s in range(0, 120)])
    post_events(api, sid, [event(t0 + timedelta(seconds=s), status="error") for s in range(60, 90)])
    drain()
    params = {"from": t0.isoformat(), "to": (t0 + timedelta(seconds=179)).isoformat(), "step": 60}
    body = api.get(f"/systems/{sid}/health/history", params=params).json()
    points = body["points"]
    assert body["step_seconds"] == 60 and len(points) == 3
    assert [(p["total"], p["errors"]) for p in points] == [(60, 0), (90, 30), (0, 0)]
    assert [p["health"] for p in points] == ["OK", "DEGRADED", "NO_DATA"]
    assert points[1]["error_rate"] == pytest.approx(1 / 3)
    assert points[0]["at"].startswith(t0.strftime("%Y-%m-%dT%H:%M:00"))

    odd = {**params, "step": 30}  # steps need not be a counter resolution
    assert [p["total"] for p in api.get(f"/systems/{sid}/health/history", params=odd).json()[
        "points"
    ]] == [30, 30, 60, 30, 0, 0]  # fmt: skip


def test_a_steps_verdict_waits_for_sustain_seconds_as_the_live_verdict_does(
    api: TestClient, clock: Clock, t0: datetime, drain: Drain
) -> None:
    sid = register(api, policy={"window_seconds": 60, "sustain_seconds": 180})
    clock.now = t0 + timedelta(seconds=300)
    post_events(api, sid, [event(t0 + timedelta(seconds=s)) for s in range(0, 240)])
    post_events(api, sid, [event(t0 + timedelta(seconds=s), status="error")
                           for s in range(240, 300)])  # fmt: skip
    drain()
    params = {"from": t0.isoformat(), "to": clock.now.isoformat(), "step": 60}

    def verdicts() -> list[str]:
        points = api.get(f"/systems/{sid}/health/history", params=params).json()["points"]
        return [p["health"] for p in points]

    live = api.get(f"/systems/{sid}/health").json()
    assert live["health"] == "DEGRADED", live["reason"]  # unhealthy for 60 s of 180 s
    assert verdicts()[:5] == ["OK", "OK", "OK", "OK", "DEGRADED"]

    clock.now = t0 + timedelta(seconds=480)
    post_events(api, sid, [event(t0 + timedelta(seconds=s), status="error")
                           for s in range(300, 480)])  # fmt: skip
    drain()
    params["to"] = clock.now.isoformat()
    assert api.get(f"/systems/{sid}/health").json()["health"] == "UNHEALTHY"
    # Held 60, 120, then 180 s: UNHEALTHY from the step where it had held sustain_seconds.
    assert verdicts()[4:8] == ["DEGRADED", "DEGRADED", "UNHEALTHY", "UNHEALTHY"]
    # The newest step (it starts now, no event in it yet) has the live verdict beside it.
    assert verdicts()[-1] == "UNHEALTHY"


@pytest.mark.parametrize(
    "params",
    [
        {"step": 1, "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T01:00:00Z"},
        {"step": 0},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "yesterday"},
        {"from": "2026-01-01T00:00:00"},
    ],
)
def test_history_rejects_bad_ranges_and_too_many_points(
    api: TestClient, params: dict[str, object]
) -> None:
    sid = register(api)
    assert api.get(f"/systems/{sid}/health/history", params=params).status_code == 422


def test_events_are_listed_newest_first_with_filters_and_cursors(
    api: TestClient, clock: Clock, t0: datetime, drain: Drain
) -> None:
    sid = register(api)
    events = [
        event(t0 + timedelta(seconds=s // 2), status="error" if s % 3 == 0 else "ok",
              stage="load" if s % 2 else "extract", run_id=f"r{s % 4}", event_id=f"e{s}")
        for s in range(100)
    ]  # fmt: skip
    post_events(api, sid, events)
    drain()
    url = f"/systems/{sid}/events"

    first = api.get(url, params={"limit": 30}).json()
    assert len(first["events"]) == 30 and first["next_cursor"]
    seen = [e["event_id"] for e in first["events"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(url, params={"limit": 30, "cursor": cursor}).json()
        seen += [e["event_id"] for e in page["events"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(f"e{s}" for s in range(100)) and len(seen) == 100
    ts = [e["ts"] for e in api.get(url, params={"limit": 1000}).json()["events"]]
    assert ts == sorted(ts, reverse=True)

    errors = api.get(url, params={"status": "error", "stage": "load", "limit": 1000}).json()
    expected = {f"e{s}" for s in range(100) if s % 3 == 0 and s % 2}
    assert {e["event_id"] for e in errors["events"]} == expected
    assert all(e["status"] == "error" for e in errors["events"])
    run = api.get(url, params={"run_id": "r1", "limit": 1000}).json()["events"]
    assert len(run) == 25

    window = {"since": (t0 + timedelta(seconds=10)).isoformat(),
              "until": (t0 + timedelta(seconds=19, milliseconds=999)).isoformat()}  # fmt: skip
    assert len(api.get(url, params={**window, "limit": 1000}).json()["events"]) == 20


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"cursor": "abc"},
        {"status": "warn"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    ],
)
def test_events_listing_rejects_bad_parameters(api: TestClient, params: dict[str, object]) -> None:
    sid = register(api)
    assert api.get(f"/systems/{sid}/events", params=params).status_code == 422
    assert api.get("/systems/999/events").status_code == 404


@pytest.mark.parametrize(
    "path", ["/health/history?to=0001-01-01T00:00:00Z", "/events?until=0001-01-01T00:00:00Z",
             "/health/history?from=9999-12-31T23:59:59Z", "/events?since=9999-12-31T00:00:00Z"],
)  # fmt: skip
def test_dates_at_the_ends_of_the_calendar_are_422_not_500(api: TestClient, path: str) -> None:
    sid = register(api)
    assert api.get(f"/systems/{sid}{path}").status_code == 422


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_paging_through_batches_that_share_timestamps_and_span_buckets(
    api: TestClient, t0: datetime, drain: Drain, limit: int
) -> None:
    """Raw events are stored per batch and per 10 s of event time: pages must still be exact."""
    sid = register(api)
    for batch in range(6):
        post_events(api, sid, [
            event(t0 + timedelta(seconds=(batch * 7 + i) % 25), status="error" if i % 4 else "ok",
                  payload={"i": batch * 100 + i})
            for i in range(12)
        ])  # fmt: skip
    drain()
    url = f"/systems/{sid}/events"
    everything = api.get(url, params={"limit": 1000}).json()["events"]
    assert len(everything) == 72
    assert [e["ts"] for e in everything] == sorted((e["ts"] for e in everything), reverse=True)

    for params in ({}, {"status": "error"}):
        seen, cursor = [], None
        for _ in range(100):  # a cursor that does not advance must fail, not hang
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            page = api.get(url, params=query).json()
            assert "events" in page, page
            assert len(page["events"]) <= limit
            seen += [e["payload"]["i"] for e in page["events"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        wanted = [
            e["payload"]["i"]
            for e in everything
            if e["status"] == params.get("status", e["status"])
        ]
        assert seen == wanted, "the same events in the same order, none twice, none left out"
