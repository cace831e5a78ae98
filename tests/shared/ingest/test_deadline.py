"""A batch answered with anything but 2xx is not in the stream and never will be: an append that a
paused store runs after the API gave up (503) refuses itself (shared/store/lua/ingest.lua)."""

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from shared.store import keys
from tests.support.events import batch
from tests.support.servers import SERVERS, Server
from tests.support.settings import make_settings
from tests.support.wait import wait_for


@pytest.fixture(params=sorted(SERVERS))
def own_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server of this test's own: it gets paused."""
    srv = Server(SERVERS[request.param]).start()
    yield srv
    srv.stop()


def _evalsha_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0))


def test_an_append_the_store_runs_after_the_api_gave_up_is_refused(own_server: Server) -> None:
    settings = make_settings(own_server.url, redis_timeout_ms=600, ingest_deadline_ms=300)
    store = redis.Redis.from_url(own_server.url)
    assert own_server.process is not None
    with TestClient(create_app(settings)) as api:
        sid = api.post("/systems", json={"name": "paused"}).json()["system_id"]
        assert (
            api.post(
                f"/systems/{sid}/events", json=batch(datetime.now(UTC), 1, latency_ms=5)
            ).status_code
            == 202
        )
        calls = _evalsha_calls(store)
        os.kill(own_server.process.pid, signal.SIGSTOP)
        try:
            answer = api.post(
                f"/systems/{sid}/events", json=batch(datetime.now(UTC), 1, latency_ms=5)
            )
        finally:
            os.kill(own_server.process.pid, signal.SIGCONT)
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["Retry-After"]) >= 1
        # Resumed, the store runs the script that was buffered on the API's socket; wait for it.
        wait_for(lambda: _evalsha_calls(store) > calls, 10, "the buffered append to run")
        partition = keys.partition_of(sid, settings.partitions)
        assert store.xlen(keys.stream(partition)) == 1
        assert int(store.hget(keys.partition_stats(partition), "events_in") or 0) == 1
    store.close()
