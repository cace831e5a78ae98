"""The health memo serves a repeated read from memory only while the answer cannot differ."""

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from api.health_memo import HealthMemo
from tests.api.helpers import event, post_events, register
from tests.conftest import Clock
from worker.consumer import Stats

ADMIN = "memo-admin-token-0123456789"


def memo_of(api: TestClient) -> HealthMemo:
    layer = api.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, HealthMemo):
        layer = layer.app
    return layer


def test_a_repeated_read_in_the_same_second_is_served_from_memory(
    api: TestClient, clock: Clock, drain: Callable[..., Stats]
) -> None:
    sid = register(api)
    post_events(api, sid, [event(clock.now)] * 3)
    drain()
    first = api.get(f"/systems/{sid}/health")
    hits = memo_of(api).hits
    again = api.get(f"/systems/{sid}/health")

    assert again.json() == first.json() and again.json()["total"] == 3
    assert memo_of(api).hits == hits + 1
    assert again.headers["x-request-id"] != first.headers["x-request-id"]


def test_new_data_is_visible_at_once_in_the_same_second(
    api: TestClient, clock: Clock, drain: Callable[..., Stats]
) -> None:
    sid = register(api)
    post_events(api, sid, [event(clock.now)])
    drain()
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1
    post_events(api, sid, [event(clock.now, status="error")])
    drain()
    h = api.get(f"/systems/{sid}/health").json()
    assert (h["total"], h["errors"]) == (2, 1)


def test_the_next_second_and_a_new_policy_are_recomputed(
    api: TestClient, clock: Clock, drain: Callable[..., Stats]
) -> None:
    sid = register(api)
    post_events(api, sid, [event(clock.now - timedelta(seconds=299))])
    drain()
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1
    clock.now += timedelta(seconds=2)  # the event has left the 300-s window
    assert api.get(f"/systems/{sid}/health").json()["total"] == 0
    api.put(f"/systems/{sid}/policy", json={"window_seconds": 600}).raise_for_status()
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1


def test_credentials_are_part_of_the_key(
    make_api: Callable[..., TestClient], clock: Clock, drain: Callable[..., Stats]
) -> None:
    api = make_api(auth="on", admin_token=ADMIN)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    sid = api.post("/systems", json={"name": "memo"}, headers=admin).json()["system_id"]
    assert api.get(f"/systems/{sid}/health", headers=admin).status_code == 200
    assert api.get(f"/systems/{sid}/health").status_code == 401
    wrong = {"Authorization": "Bearer lso_wrong_0000000000000000"}
    assert api.get(f"/systems/{sid}/health", headers=wrong).status_code == 401


def test_errors_are_not_kept(api: TestClient) -> None:
    assert api.get("/systems/999999/health").status_code == 404
    sid = register(api)
    assert api.get(f"/systems/{sid}/health").status_code == 200
