"""Shared fixtures. Tests that touch Redis use a real server (`server_url`, parametrised over
every server installed: Valkey always, Redis when present); `fake_client` is fakeredis, for speed
only and never the only proof. The helpers they are built from live in tests/support/."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from subprocess import Popen
from typing import Any

import fakeredis
import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from shared.settings import Settings
from tests.support.clock import Clock
from tests.support.processes import Spawn, output, spawn_lso, stop
from tests.support.receiver import Receiver, serve
from tests.support.servers import SERVERS, Server
from tests.support.settings import make_settings
from worker.consumer import DrainStats, Worker

# The `browser` fixture of the browser tests (Playwright driving Debian's Chromium).
pytest_plugins = ["tests.support.browser"]


@pytest.fixture(scope="session", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    srv = Server(SERVERS[request.param]).start()
    yield srv
    srv.stop()


@pytest.fixture
def server_url(server: Server) -> str:
    """A real server, emptied before the test."""
    client = redis.Redis.from_url(server.url)
    client.flushall()
    client.close()
    return server.url


@pytest.fixture
def settings(server_url: str) -> Settings:
    return make_settings(server_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(settings.redis_url, protocol=3)
    yield c
    c.close()


@pytest.fixture
def fake_client() -> redis.Redis:
    return fakeredis.FakeRedis(protocol=3)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_api(settings: Settings, clock: Clock) -> Iterator[Callable[..., TestClient]]:
    """`make_api(max_lag_events=10)`: a started app on the test's server and clock, with setting
    overrides; stopped after the test."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            app = create_app(make_settings(settings.redis_url, **overrides))
            test_client = stack.enter_context(TestClient(app, raise_server_exceptions=True))
            test_client.app.state.clock = clock  # type: ignore[attr-defined]
            return test_client

        yield make


@pytest.fixture
def api(make_api: Callable[..., TestClient]) -> TestClient:
    return make_api()


@pytest.fixture
def drain(settings: Settings, client: redis.Redis) -> Callable[..., DrainStats]:
    """Run a burst worker: apply everything in the streams, then return its stats."""

    def run(**overrides: Any) -> DrainStats:
        s = settings.model_copy(update=overrides) if overrides else settings
        return Worker(client, s, burst=True).run()

    return run


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP receiver that records every POST (tests/support/receiver.py)."""
    with serve() as state:
        yield state


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """`spawn("worker", env={...})`: an `lso` process, stopped after the test at the latest."""
    started: list[Popen[bytes]] = []

    def start(*args: str, env: dict[str, str]) -> Popen[bytes]:
        started.append(spawn_lso(*args, env=env))
        return started[-1]

    yield start
    for process in started:
        stop(process)
        if process.stdout and not process.stdout.closed:
            output(process)
