"""Every way in goes through the native limits: body size, rate limit and load shedding, each
answered in the adapter's own terms (pings 429, OpenLineage 503 since its client never retries
429, OTLP 429), and nothing appended for a refused request."""

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from shared.settings import Settings
from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from tests.support.store import backlog as partition_backlog

NATIVE, LINEAGE, OTLP = "native", "openlineage", "otlp"


def lineage_event(clock: Clock, padding: int = 0) -> bytes:
    return orjson.dumps({
        "eventType": "COMPLETE", "eventTime": clock.now.isoformat(),
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "limits", "name": "job", "facets": {"pad": "x" * padding}},
        "producer": "tests",
    })  # fmt: skip


def otlp_traces(clock: Clock, spans: int = 1, padding: int = 0) -> bytes:
    end_ns = int(clock.now.timestamp() * 1e9)
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "limits-otlp"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": "load",
            "startTimeUnixNano": str(end_ns - 5_000_000), "endTimeUnixNano": str(end_ns),
            "attributes": [{"key": "pad", "value": {"stringValue": "x" * padding}}],
        } for _ in range(spans)]}],
    }]})  # fmt: skip


class Ways:
    """One request through each way in, to a system of its own."""

    def __init__(self, api: TestClient, clock: Clock) -> None:
        self.api, self.clock = api, clock
        self.sid = register(api, "limits-native")
        pinged = register(api, "limits-ping")
        self.ping_key = api.post(f"/systems/{pinged}/keys", json={"kind": "ping"}).json()["token"]

    def send(self, way: str, padding: int = 0) -> Response:
        if way == "ping":
            return self.api.post(f"/ping/{self.ping_key}", content=b"x" * padding)
        if way == LINEAGE:
            return self.api.post("/api/v1/lineage", content=lineage_event(self.clock, padding),
                                 headers={"content-type": "application/json"})  # fmt: skip
        if way == OTLP:
            return self.api.post("/v1/traces", content=otlp_traces(self.clock, padding=padding),
                                 headers={"content-type": "application/json"})  # fmt: skip
        body = {"events": [event(self.clock.now, payload={"pad": "x" * padding})]}
        return self.api.post(f"/systems/{self.sid}/events", json=body)


WAYS = [NATIVE, "ping", LINEAGE, OTLP]


def backlog(client: Any) -> int:
    return sum(partition_backlog(client, p) for p in range(Settings().partitions))


@pytest.mark.parametrize("way", WAYS)
def test_a_body_over_the_limit_is_a_413_and_nothing_is_appended(
    make_api: Callable[..., TestClient], clock: Clock, client: Any, way: str
) -> None:
    ways = Ways(make_api(max_body_bytes=2000), clock)
    assert ways.send(way).status_code // 100 == 2
    before = backlog(client)
    assert ways.send(way, padding=3000).status_code == 413
    assert backlog(client) == before


@pytest.mark.parametrize(("way", "status"), [(NATIVE, 429), ("ping", 429), (LINEAGE, 503),
                                             (OTLP, 429)])  # fmt: skip
def test_over_the_rate_limit_each_way_answers_its_retry_status(
    make_api: Callable[..., TestClient], clock: Clock, way: str, status: int
) -> None:
    ways = Ways(make_api(rate_limit_events_per_s=1), clock)
    answers = [ways.send(way) for _ in range(5)]
    refused = [a for a in answers if a.status_code // 100 != 2]
    assert refused and {a.status_code for a in refused} == {status}
    assert all(int(a.headers["retry-after"]) >= 1 for a in refused)


@pytest.mark.parametrize("way", WAYS)
def test_while_shedding_load_every_way_answers_503_with_retry_after(
    make_api: Callable[..., TestClient], clock: Clock, client: Any, way: str
) -> None:
    api = make_api(max_lag_events=10)
    ways = Ways(api, clock)
    post_events(api, ways.sid, [event(clock.now) for _ in range(20)])  # no worker: a backlog
    api.app.state.readiness.forget()  # type: ignore[attr-defined]
    before = backlog(client)
    answer = ways.send(way)
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    assert backlog(client) == before
