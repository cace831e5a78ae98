"""Per-system ingest rate limits: 429 with Retry-After, shared by every replica via the store."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.support.api import register
from tests.support.clock import Clock
from tests.support.events import event


@pytest.fixture
def limited_api(make_api: Callable[..., TestClient]) -> TestClient:
    """Default limit 10 events/s with a 1 s bucket."""
    return make_api(rate_limit_events_per_s=10, rate_limit_burst_s=1.0)


def post(api: TestClient, sid: int, clock: Clock, n: int) -> int:
    response = api.post(f"/systems/{sid}/events", json={"events": [event(clock.now)] * n})
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) >= 1
        assert "rate limit" in response.json()["detail"]
    return response.status_code


def test_a_system_over_its_limit_gets_429_with_retry_after(
    limited_api: TestClient, clock: Clock
) -> None:
    sid = register(limited_api)
    # The bucket holds 10 events; a batch may overdraw it once, then the system must wait.
    assert post(limited_api, sid, clock, 8) == 202
    assert post(limited_api, sid, clock, 8) == 202
    assert post(limited_api, sid, clock, 1) == 429


def test_the_limit_of_one_system_does_not_touch_another(
    limited_api: TestClient, clock: Clock
) -> None:
    a, b = register(limited_api, "a"), register(limited_api, "b")
    assert post(limited_api, a, clock, 50) == 202
    assert post(limited_api, a, clock, 1) == 429
    assert post(limited_api, b, clock, 5) == 202


def test_a_system_can_have_its_own_limit_and_go_back_to_the_default(
    limited_api: TestClient, clock: Clock
) -> None:
    sid = register(limited_api)
    url = f"/systems/{sid}/rate-limit"
    assert limited_api.get(url).json() == {
        "system_id": sid,
        "events_per_s": None,
        "effective_events_per_s": 10.0,
    }
    unlimited = limited_api.put(url, json={"events_per_s": 0})
    assert unlimited.json()["effective_events_per_s"] == 0
    assert all(post(limited_api, sid, clock, 100) == 202 for _ in range(5))

    assert limited_api.put(url, json={"events_per_s": None}).json()["events_per_s"] is None
    assert post(limited_api, sid, clock, 100) == 202
    assert post(limited_api, sid, clock, 1) == 429


@pytest.mark.parametrize(
    "body",
    [
        {"events_per_s": -1},
        {},
        {"events_per_s": "fast"},
        {"events_per_s": 1e-9},
        {"events_per_s": 1e12},
    ],
)
def test_invalid_limits_are_422(api: TestClient, body: dict[str, object]) -> None:
    sid = register(api)
    assert api.put(f"/systems/{sid}/rate-limit", json=body).status_code == 422


def test_limits_of_unknown_systems_are_404(api: TestClient) -> None:
    assert api.get("/systems/5/rate-limit").status_code == 404
    assert api.put("/systems/5/rate-limit", json={"events_per_s": 1}).status_code == 404
