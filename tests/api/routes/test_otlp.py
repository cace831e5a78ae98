"""POST /v1/traces and /v1/logs: OTLP/HTTP in protobuf and JSON, the systems they create and the
answers of the specification, against a real store."""

import gzip
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import orjson
import pytest
import redis
from fastapi.testclient import TestClient
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from api.main import create_app
from api.middleware.otlp_fast_path import OtlpFastPath
from lso.embedded import free_port
from tests.shared.adapters import otlp_requests as req
from tests.support.api import middleware, register
from tests.support.clock import Clock
from tests.support.settings import make_settings
from tests.support.store import stream_entries
from worker.consumer import DrainStats

ADMIN = "lso_a_otlp-tests-admin-token"
PROTOBUF, JSON = "application/x-protobuf", "application/json"


def export(
    api: TestClient,
    message: Message,
    *,
    as_json: bool = False,
    gzipped: bool = False,
    key: str | None = None,
    path: str | None = None,
) -> httpx.Response:
    body = req.as_json(message) if as_json else message.SerializeToString()
    headers = {"content-type": JSON if as_json else PROTOBUF}
    if gzipped:
        body, headers["content-encoding"] = gzip.compress(body), "gzip"
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    if path is None:
        path = "/v1/logs" if type(message).__name__.startswith("ExportLogs") else "/v1/traces"
    return api.post(path, content=body, headers=headers)


def system_of(api: TestClient, name: str) -> int:
    found = api.get(f"/systems/by-name/{name}", headers={"authorization": f"Bearer {ADMIN}"})
    assert found.status_code == 200, found.text
    return int(found.json()["system_id"])


def events_of(api: TestClient, name: str) -> list[dict[str, Any]]:
    sid = system_of(api, name)
    page = api.get(f"/systems/{sid}/events", headers={"authorization": f"Bearer {ADMIN}"})
    return list(page.json()["events"])


def health_of(api: TestClient, name: str) -> dict[str, Any]:
    sid = system_of(api, name)
    answer = api.get(f"/systems/{sid}/health", headers={"authorization": f"Bearer {ADMIN}"})
    return dict(answer.json())


def rpc_status(response: httpx.Response) -> RpcStatus:
    assert response.headers["content-type"] == PROTOBUF
    return RpcStatus.FromString(response.content)


def partial(response: httpx.Response) -> tuple[int, str]:
    assert response.status_code == 200, response.text
    answer = ExportTraceServiceResponse.FromString(response.content)
    return answer.partial_success.rejected_spans, answer.partial_success.error_message


def test_spans_become_events_of_the_system_their_service_names(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    spans = [req.span(clock.now - timedelta(seconds=i), 10.0 * i, "load", error=i < 2,
                      message="disk full", attrs={"lso.stage": "load", "rows": i})
             for i in range(10)]  # fmt: skip
    spans.append(req.span(clock.now, 1, "n" * 100))
    answer = export(api, req.traces({"orders-etl": spans}))

    assert (answer.status_code, answer.content) == (200, b"")
    assert answer.headers["content-type"] == PROTOBUF
    drain()
    health = health_of(api, "orders-etl")  # created on first use by the admin
    assert (health["total"], health["errors"]) == (11, 2)
    assert health["last_error"]["message"] == "disk full"
    events = events_of(api, "orders-etl")
    assert sorted(e["latency_ms"] for e in events) == [0.0, 1.0, *[10.0 * i for i in range(1, 10)]]
    assert {e["stage"] for e in events} == {"load", None}
    assert "n" * 64 in {e["event_type"] for e in events}
    assert {e["run_id"] for e in events} == {s.trace_id.hex() for s in spans}


def test_json_and_gzip_are_read_and_answered_in_the_requests_encoding(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    request = req.traces({"shop": [req.span(clock.now, 5, "checkout", error=True)]})
    answer = export(api, request, as_json=True)
    assert (answer.status_code, answer.json()) == (200, {})
    assert answer.headers["content-type"] == JSON
    assert export(api, req.traces({"shop": [req.span(clock.now)]}), gzipped=True).content == b""
    json_gzip = export(api, req.traces({"shop": [req.span(clock.now)]}), as_json=True, gzipped=True)
    assert json_gzip.json() == {}
    drain()
    assert (health_of(api, "shop")["total"], health_of(api, "shop")["errors"]) == (3, 1)


def test_plain_exports_are_answered_before_routing_and_the_routes_answer_alike(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    fast_path = middleware(api, OtlpFastPath)
    traces = req.traces({"both": [req.span(clock.now, error=True)]})
    logs = req.logs({"both": [req.log(clock.now, "loaded")]})
    for path in (None, "/v1/traces?via=route"):
        assert export(api, traces, path=path).content == b""
    for path in (None, "/v1/logs?via=route"):
        assert export(api, logs, path=path, as_json=True).json() == {}
    assert fast_path.handled == 2  # the query string sends a request to the route
    drain()
    assert (health_of(api, "both")["total"], health_of(api, "both")["errors"]) == (2, 1)


def test_an_export_sent_again_is_counted_once(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    traces = req.traces({"a": [req.span(clock.now, error=i == 0) for i in range(20)]})
    logs = req.logs({"a": [req.log(clock.now, f"line {i}") for i in range(5)]})
    for _ in range(3):  # an exporter retrying after a lost answer
        assert export(api, traces).status_code == 200
        assert export(api, logs).status_code == 200
    drain()
    assert (health_of(api, "a")["total"], health_of(api, "a")["errors"]) == (25, 1)


def test_refused_spans_are_counted_in_partial_success_and_the_rest_is_stored(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    backwards = req.span(clock.now)
    backwards.start_time_unix_nano = backwards.end_time_unix_nano + 1
    old = req.span(clock.now - timedelta(days=3))
    request = req.traces({"good": [req.span(clock.now), backwards, old],
                          None: [req.span(clock.now)] * 2,
                          "bad name!": [req.span(clock.now)]})  # fmt: skip
    rejected, message = partial(export(api, request))

    assert rejected == 5
    assert message.startswith("5 spans rejected: ")
    assert "no service.name in the resource (2 spans)" in message
    assert "service 'good': span ends before it starts (1 spans)" in message
    assert "service 'good': dated more than 86400 s before now (1 spans)" in message
    assert "service 'bad name!': not a possible system name" in message
    as_json = export(api, request, as_json=True).json()
    assert as_json["partialSuccess"]["rejectedSpans"] == "5"
    assert as_json["partialSuccess"]["errorMessage"] == message
    drain()
    assert health_of(api, "good")["total"] == 1


def test_log_records_are_events_errors_from_severity_error_on(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    records = [req.log(clock.now, "starting", 9), req.log(clock.now, "disk 91% full", 13),
               req.log(clock.now, "load failed: disk full", 17, text="ERROR")]  # fmt: skip
    assert export(api, req.logs({"nightly": records})).content == b""
    assert (
        export(api, req.logs({"nightly": [req.log(clock.now, "done")]}), as_json=True).json() == {}
    )
    drain()

    health = health_of(api, "nightly")
    assert (health["total"], health["errors"]) == (4, 1)
    assert health["last_error"]["message"] == "load failed: disk full"
    assert {e["latency_ms"] for e in events_of(api, "nightly")} == {0.0}


def test_a_body_that_is_no_otlp_request_is_400_in_the_requests_encoding(api: TestClient) -> None:
    broken = api.post("/v1/traces", content=b"\xff\xff", headers={"content-type": PROTOBUF})
    assert broken.status_code == 400
    assert rpc_status(broken).code == 3 and "protobuf" in rpc_status(broken).message

    not_json = api.post("/v1/logs", content=b"{oops", headers={"content-type": JSON})
    assert not_json.status_code == 400
    assert not_json.json()["code"] == 3 and "JSON" in not_json.json()["message"]

    headers = {"content-type": PROTOBUF, "content-encoding": "gzip"}
    assert api.post("/v1/traces", content=b"\x1f\x8bnope", headers=headers).status_code == 400


def test_413_415_and_the_limits_of_native_ingest(
    make_api: Callable[..., TestClient], clock: Clock
) -> None:
    api = make_api(max_body_bytes=2000)
    large = req.traces({"a": [req.span(clock.now, attrs={"x": "y" * 100}) for _ in range(30)]})
    too_large = export(api, large)
    assert too_large.status_code == 413 and rpc_status(too_large).code == 8
    assert export(api, large, gzipped=True).status_code == 413  # decompressed size counts too

    plain = api.post("/v1/traces", content=b"{}", headers={"content-type": "text/plain"})
    assert plain.status_code == 415 and plain.json()["code"] == 3
    brotli = {"content-type": PROTOBUF, "content-encoding": "br"}
    assert api.post("/v1/traces", content=b"", headers=brotli).status_code == 415


def test_a_service_over_its_batch_size_is_appended_in_several_batches(
    make_api: Callable[..., TestClient],
    clock: Clock,
    client: redis.Redis,
    drain: Callable[..., DrainStats],
) -> None:
    api = make_api(max_batch_events=10)
    assert export(api, req.traces({"big": [req.span(clock.now) for _ in range(25)]})).content == b""
    assert stream_entries(client) == 3
    drain()
    assert health_of(api, "big")["total"] == 25


def test_over_the_rate_limit_is_429_and_overload_503_both_with_retry_after(
    make_api: Callable[..., TestClient], clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    limited = make_api(rate_limit_events_per_s=2)
    spans = req.traces({"a": [req.span(clock.now) for _ in range(20)]})
    assert export(limited, spans).status_code == 200  # the bucket may go into debt once
    answer = export(limited, spans)
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
    assert rpc_status(answer).code == 8 and "rate limit" in rpc_status(answer).message

    drain()
    busy = make_api(max_lag_events=10)
    assert export(busy, req.traces({"b": [req.span(clock.now) for _ in range(10)]})).content == b""
    busy.app.state.readiness.forget()  # type: ignore[attr-defined]  # past its 1 s cache
    shed = export(busy, req.traces({"b": [req.span(clock.now)]}), as_json=True)
    assert shed.status_code == 503 and 1 <= int(shed.headers["retry-after"]) <= 60
    assert shed.json()["code"] == 14 and "overloaded" in shed.json()["message"]


def test_one_limited_service_makes_the_whole_export_retried_and_the_retry_counts_once(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    slow = register(api, "slow")
    assert api.put(f"/systems/{slow}/rate-limit", json={"events_per_s": 1}).status_code == 200
    first = req.traces({"slow": [req.span(clock.now) for _ in range(10)]})
    assert export(api, first).status_code == 200  # into debt
    request = req.traces({"fast": [req.span(clock.now) for _ in range(5)],
                          "slow": [req.span(clock.now) for _ in range(10)]})  # fmt: skip
    assert export(api, request).status_code == 429  # after fast's events were appended

    assert api.put(f"/systems/{slow}/rate-limit", json={"events_per_s": None}).status_code == 200
    assert export(api, request).status_code == 200
    drain()
    assert health_of(api, "fast")["total"] == 5  # appended twice, counted once
    assert health_of(api, "slow")["total"] == 20


@pytest.fixture
def api_without_store() -> Iterator[TestClient]:
    nowhere = make_settings(f"redis://127.0.0.1:{free_port()}/0", redis_timeout_ms=200)
    with TestClient(create_app(nowhere)) as test_client:
        yield test_client


def test_a_store_outage_is_503_with_retry_after(api_without_store: TestClient) -> None:
    answer = export(api_without_store, req.traces({"a": [req.span(Clock().now)]}))
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
    assert rpc_status(answer).code == 14


@pytest.fixture
def secured(make_api: Callable[..., TestClient]) -> TestClient:
    return make_api(auth="on", admin_token=ADMIN)


def new_key(api: TestClient, path: str, body: dict[str, Any]) -> str:
    created = api.post(path, json=body, headers={"authorization": f"Bearer {ADMIN}"})
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


def test_the_key_decides_which_services_may_report(secured: TestClient, clock: Clock) -> None:
    def traces(*services: str) -> Message:
        return req.traces({s: [req.span(clock.now)] for s in services})

    nobody = export(secured, traces("a"))
    assert nobody.status_code == 401 and rpc_status(nobody).code == 16
    assert nobody.headers["www-authenticate"].startswith("Bearer")
    assert export(secured, traces("a"), key="lso_wrong").status_code == 401

    created = secured.post("/systems", json={"name": "a"},
                           headers={"authorization": f"Bearer {ADMIN}"}).json()  # fmt: skip
    ingest_a = created["ingest_key"]["token"]
    read_a = new_key(secured, f"/systems/{created['system_id']}/keys", {"kind": "read"})
    assert export(secured, traces("a"), key=ingest_a).content == b""
    refused = export(secured, traces("b"), key=ingest_a)  # an ingest key creates nothing
    assert refused.status_code == 403 and rpc_status(refused).code == 7
    assert "service 'b': system 'b' not found" in rpc_status(refused).message
    assert partial(export(secured, traces("a", "b"), key=ingest_a))[0] == 1
    assert export(secured, traces("a"), key=read_a).status_code == 403

    dbt = new_key(secured, "/keys", {"kind": "namespace", "namespace": "dbt"})
    assert export(secured, traces("dbt/orders"), key=dbt).content == b""  # created
    rejected, message = partial(export(secured, traces("dbt/orders", "airflow/x"), key=dbt))
    assert rejected == 1 and "may only report to systems named 'dbt/...'" in message
    assert export(secured, traces("airflow/x"), key=dbt).status_code == 403
    assert export(secured, traces("new-by-admin"), key=ADMIN).content == b""
    assert {system_of(secured, n) for n in ("dbt/orders", "new-by-admin")}


def test_the_endpoints_are_documented(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/v1/traces", "/v1/logs"):
        content = paths[path]["post"]["requestBody"]["content"]
        assert set(content) == {PROTOBUF, JSON}
        assert {"200", "400", "413", "429", "503"} <= set(paths[path]["post"]["responses"])
    assert orjson.loads(api.get("/openapi.json").content)  # valid JSON as served
