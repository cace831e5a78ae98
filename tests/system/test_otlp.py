"""OTLP against a real `lso up`: the OpenTelemetry SDK's own exporters (protobuf over HTTP, plain
and gzip) and hand-built OTLP/JSON and protobuf requests, as a user's program would send them."""

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tests.shared.adapters import otlp_requests as req
from tests.support.up import Up, lso_up
from tests.support.wait import wait_for

pytestmark = pytest.mark.process


class Otlp(Up):
    def health(self, name: str) -> dict[str, Any] | None:
        status, _, body = self.request("GET", f"/systems/by-name/{name}")
        if status != 200:
            return None
        sid = json.loads(body)["system_id"]
        return dict(json.loads(self.request("GET", f"/systems/{sid}/health")[2]))

    def totals(self, name: str, total: int) -> dict[str, Any] | None:
        """The system's health once it counts `total` events (None before)."""
        health = self.health(name)
        return health if health is not None and health["total"] >= total else None


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Otlp]:
    with lso_up(tmp_path_factory.mktemp("otlp") / "data", kind=Otlp) as started:
        yield started
    assert started.exit_code == 0, started.tail()


def namespace_key(up: Otlp, namespace: str) -> str:
    body = json.dumps({"kind": "namespace", "namespace": namespace}).encode()
    status, _, answer = up.request("POST", "/keys", body, {"Content-Type": "application/json"})
    assert status == 201, answer
    return str(json.loads(answer)["token"])


def test_the_sdks_span_exporter_reports_a_pipeline_plain_and_gzipped(up: Otlp) -> None:
    key = namespace_key(up, "shop")
    # checkout: the trace is the run; refunds: the resource names it (lso.run_id)
    for compression, service, named in (
        (Compression.NoCompression, "shop/checkout", {}),
        (Compression.Gzip, "shop/refunds", {"lso.run_id": "nightly-7"}),
    ):
        exporter = OTLPSpanExporter(endpoint=f"{up.url}/v1/traces", compression=compression,
                                    headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        resource = Resource.create({"service.name": service, **named})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("tests.system.test_otlp")
        with tracer.start_as_current_span("run") as root:
            trace_id = format(root.get_span_context().trace_id, "032x")
            for stage in ("extract", "transform"):
                with tracer.start_as_current_span(stage, attributes={"lso.stage": stage}):
                    time.sleep(0.005)
            with pytest.raises(ValueError), tracer.start_as_current_span("load") as span:
                span.set_attribute("lso.stage", "load")
                raise ValueError("warehouse refused row 17")
            with tracer.start_as_current_span("notify") as span:
                span.set_status(Status(StatusCode.OK))
        assert provider.force_flush(10_000)
        provider.shutdown()

        health = wait_for(lambda s=service: up.totals(s, 5), 30, f"{service}'s spans in /health")
        assert (health["total"], health["errors"]) == (5, 1)
        run_id = named.get("lso.run_id", trace_id)
        last_error = health["last_error"]
        assert last_error["message"] == "ValueError: warehouse refused row 17"
        assert (last_error["event_type"], last_error["stage"]) == ("load", "load")
        assert last_error["run_id"] == run_id
        assert set(health["stages"]) == {"extract", "transform", "load"}
        runs = json.loads(up.request("GET", f"/systems/{health['system_id']}/runs")[2])["runs"]
        assert [(r["run_id"], r["events"], r["errors"]) for r in runs] == [(run_id, 5, 1)]


def test_the_sdks_log_exporter_reports_error_records_as_errors(up: Otlp) -> None:
    provider = LoggerProvider(resource=Resource.create({"service.name": "nightly-backup"}))
    exporter = OTLPLogExporter(endpoint=f"{up.url}/v1/logs",
                               headers={"Authorization": f"Bearer {up.admin}"})  # fmt: skip
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("backup.job")  # the scope: the events' type
    logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARNING", body="disk 91% full")
    logger.emit(severity_number=SeverityNumber.ERROR, severity_text="ERROR",
                body="backup failed: no space left on device")  # fmt: skip
    assert provider.force_flush(10_000)
    provider.shutdown()

    health = wait_for(lambda: up.totals("nightly-backup", 2), 30, "the log records in /health")
    assert (health["total"], health["errors"]) == (2, 1)
    assert health["last_error"]["message"] == "backup failed: no space left on device"
    assert health["last_error"]["event_type"] == "backup.job"


def test_hand_built_json_and_protobuf_requests_with_gzip_and_partial_success(
    up: Otlp,
) -> None:
    end_ns = time.time_ns()
    doc = {"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "by-hand"}}]},
         "scopeSpans": [{"scope": {"name": "curl"}, "spans": [
             {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
              "name": "import", "kind": 1, "startTimeUnixNano": str(end_ns - 42_000_000),
              "endTimeUnixNano": str(end_ns), "status": {"code": 2, "message": "bad header"}}]}]},
        {"resource": {"attributes": []},
         "scopeSpans": [{"spans": [{"traceId": "5b8efff798038103d269b633813fc60d",
                                    "spanId": "eee19b7ec3c1b175", "name": "lost",
                                    "endTimeUnixNano": str(end_ns)}]}]},
    ]}  # fmt: skip
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    body = gzip.compress(json.dumps(doc).encode())
    status, answer_headers, answer = up.request("POST", "/v1/traces", body, headers)
    assert status == 200 and answer_headers["content-type"] == "application/json"
    assert json.loads(answer)["partialSuccess"]["rejectedSpans"] == "1"
    assert "no service.name" in json.loads(answer)["partialSuccess"]["errorMessage"]

    records = [req.log(datetime.now(UTC), "ok"), req.log(datetime.now(UTC), "failed", 17)]
    logs = req.logs({"by-hand": records}).SerializeToString()
    protobuf = {"Content-Type": "application/x-protobuf"}
    status, answer_headers, answer = up.request("POST", "/v1/logs", logs, protobuf)
    assert status == 200 and answer_headers["content-type"] == "application/x-protobuf"
    assert not ExportLogsServiceResponse.FromString(answer).HasField("partial_success")

    health = wait_for(lambda: up.totals("by-hand", 3), 30, "the hand-built requests in /health")
    assert (health["total"], health["errors"]) == (3, 2)
    assert up.request("POST", "/v1/traces", body, headers)[0] == 200  # an exporter's retry
    marker = req.logs({"by-hand": [req.log(datetime.now(UTC), "after the retry")]})
    assert up.request("POST", "/v1/logs", marker.SerializeToString(), protobuf)[0] == 200
    # Applied in order after the retry (one system, one partition): the retry counted nothing.
    health = wait_for(lambda: up.totals("by-hand", 4), 30, "the marker in /health")
    assert health["total"] == 4
    assert up.request("POST", "/v1/traces", b"{", {"Content-Type": "application/json"})[0] == 400
