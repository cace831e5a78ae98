"""The plain ingest request skips FastAPI's routing; its answers are the route's answers."""

from fastapi.testclient import TestClient

from api.middleware.ingest_fast_path import IngestFastPath
from tests.support.api import middleware, register
from tests.support.clock import Clock
from tests.support.events import event


def test_plain_requests_take_the_fast_path_and_others_the_route(
    api: TestClient, clock: Clock
) -> None:
    sid = register(api)
    url = f"/systems/{sid}/events"
    batch = {"events": [event(clock.now)]}
    before = middleware(api, IngestFastPath).handled
    assert api.post(url, json=batch).status_code == 202
    assert middleware(api, IngestFastPath).handled == before + 1
    keyed = api.post(url, json=batch, headers={"Idempotency-Key": "k1"})
    assert keyed.status_code == 202 and middleware(api, IngestFastPath).handled == before + 1


def test_fast_path_errors_look_like_the_route_errors(api: TestClient, clock: Clock) -> None:
    sid = register(api)
    bad = {"events": [{**event(clock.now), "latency_ms": -1}]}
    fast = api.post(f"/systems/{sid}/events", json=bad)
    routed = api.post(f"/systems/{sid}/events?via=route", json=bad)
    assert fast.status_code == routed.status_code == 422
    assert fast.json() == routed.json()
    assert fast.json()["detail"][0]["loc"] == ["body", "events", 0, "latency_ms"]
    batch = {"events": [event(clock.now)]}
    unknown = api.post("/systems/999999/events", json=batch)
    unknown_routed = api.post("/systems/999999/events?via=route", json=batch)
    assert unknown.status_code == unknown_routed.status_code == 404
    assert unknown.json() == unknown_routed.json()


def test_a_non_ascii_digit_as_system_id_is_the_route_s_422_not_a_500(
    api: TestClient, clock: Clock
) -> None:
    batch = {"events": [event(clock.now)]}
    assert api.post("/systems/%C2%B2/events", json=batch).status_code == 422
    assert api.get("/systems/%C2%B2/health").status_code == 422
