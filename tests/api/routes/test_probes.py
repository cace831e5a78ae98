"""/livez, /readyz, the documented schema, and 503 + Retry-After whenever the store is away."""

import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from lso.embedded import free_port
from shared.settings import Settings
from tests.support.api import post_events, register
from tests.support.events import event
from tests.support.servers import Server
from tests.support.settings import make_settings
from tests.support.wait import wait_for
from worker.consumer import DrainStats


def test_livez_and_readyz_are_200_when_all_is_well(api: TestClient) -> None:
    assert api.get("/livez").status_code == 200
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_readyz_turns_503_while_the_backlog_is_over_the_limit(
    settings: Settings, drain: Callable[..., DrainStats]
) -> None:
    limited = make_settings(settings.redis_url, max_lag_events=10)
    with TestClient(create_app(limited)) as api:
        sid = register(api)
        post_events(api, sid, [event(datetime.now(UTC))] * 10)
        api.app.state.readiness._cached = None  # type: ignore[attr-defined]  # skip the 1 s cache
        busy = api.get("/readyz")
        assert busy.status_code == 503
        assert busy.json()["reason"] == "backlog too large"
        assert busy.json()["backlog_events"] == 10

        drain()
        api.app.state.readiness._cached = None  # type: ignore[attr-defined]
        assert api.get("/readyz").status_code == 200


def test_openapi_documents_every_route(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/systems",
        "/systems/{system_id}",
        "/systems/{system_id}/events",
        "/systems/{system_id}/health",
        "/livez",
        "/readyz",
    }
    body = paths["/systems/{system_id}/events"]["post"]["requestBody"]
    assert "events" in str(body)
    assert api.get("/docs").status_code == 200


@pytest.fixture
def api_without_store() -> Iterator[TestClient]:
    nowhere = make_settings(f"redis://127.0.0.1:{free_port()}/0", redis_timeout_ms=200)
    with TestClient(create_app(nowhere)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/systems", {"name": "x"}),
        ("GET", "/systems", None),
        ("GET", "/systems/1", None),
        ("GET", "/systems/1/health", None),
        ("POST", "/systems/1/events", {"events": [event(datetime.now(UTC))]}),
    ],
)
def test_a_store_outage_is_503_with_retry_after_never_500(
    api_without_store: TestClient, method: str, path: str, body: object
) -> None:
    response = api_without_store.request(method, path, json=body)
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1


def test_probes_during_a_store_outage(api_without_store: TestClient) -> None:
    assert api_without_store.get("/livez").status_code == 200
    ready = api_without_store.get("/readyz")
    assert ready.status_code == 503 and ready.json()["reason"] == "store unreachable"


def test_a_store_that_stops_answering_gives_503_within_the_timeout(
    server: Server, settings: Settings
) -> None:
    quick = make_settings(settings.redis_url, redis_timeout_ms=300)
    with TestClient(create_app(quick)) as api:
        sid = register(api)
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            started = time.monotonic()
            response = api.get(f"/systems/{sid}/health")
            elapsed = time.monotonic() - started
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert response.status_code == 503 and response.headers["retry-after"]
        assert elapsed < 1.5
        wait_for(
            lambda: api.get(f"/systems/{sid}/health").status_code == 200,
            5,
            "the API to reconnect by itself",
            interval_s=0.05,
        )
