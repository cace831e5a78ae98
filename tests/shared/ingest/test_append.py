"""LSO_DURABLE_ACK: 202 only once the store has fsynced the batch (WAITAOF, or appendfsync always),
and a 503 (never a false 202) when the store cannot confirm it."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.api import register
from tests.support.events import event
from tests.support.servers import SERVERS, Server
from tests.support.settings import make_settings


@pytest.fixture(params=sorted(SERVERS))
def binary(request: pytest.FixtureRequest) -> str:
    return SERVERS[request.param]


def durable_api(server: Server) -> TestClient:
    return TestClient(create_app(make_settings(server.url, durable_ack=True)))


@pytest.fixture
def store(binary: str, request: pytest.FixtureRequest) -> Iterator[Server]:
    fsync = getattr(request, "param", "everysec")
    aof = ["--appendonly", "no"] if fsync == "off" else ["--appendonly", "yes"]
    aof += [] if fsync == "off" else ["--appendfsync", fsync]
    server = Server(binary, extra_args=aof).start()
    yield server
    server.stop()


def version(url: str) -> tuple[int, ...]:
    info = redis.Redis.from_url(url).info("server")
    return tuple(int(x) for x in str(info["redis_version"]).split(".")[:2])


def waitaof_calls(url: str) -> int:
    stats = redis.Redis.from_url(url).info("commandstats")
    return int(stats.get("cmdstat_waitaof", {}).get("calls", 0))


def post_one(api: TestClient) -> int:
    sid = register(api)
    events = {"events": [event(datetime.now(UTC))]}
    return api.post(f"/systems/{sid}/events", json=events).status_code


def test_with_aof_everysec_the_202_waits_for_the_fsync(store: Server) -> None:
    with durable_api(store) as api:
        status = post_one(api)
    if version(store.url) >= (7, 2):
        assert status == 202
        assert waitaof_calls(store.url) == 1
    else:  # no WAITAOF: nothing can confirm the fsync, so no 202 may claim it
        assert status == 503


@pytest.mark.parametrize("store", ["always"], indirect=True)
def test_with_appendfsync_always_every_write_is_already_durable(store: Server) -> None:
    with durable_api(store) as api:
        assert post_one(api) == 202
    assert waitaof_calls(store.url) == 0


@pytest.mark.parametrize("store", ["off"], indirect=True)
def test_without_aof_a_durable_ack_is_refused_with_503(store: Server) -> None:
    with durable_api(store) as api:
        sid = register(api)
        response = api.post(f"/systems/{sid}/events", json={"events": [event(datetime.now(UTC))]})
    assert response.status_code == 503
    assert "appendonly" in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1
