"""Adapters: events/s through each way in that is not the native batch, in the same run as native
ingest at a comparable batch size (issue 15): ping URLs and OpenLineage against native 1-event
batches (both are one event per request), OTLP/HTTP protobuf with 100 spans of one service
against native 100-event batches. Workers stopped, as for the ingest rows: the API's own cost.

Each body is sent again and again, as wrk does; the adapters' event ids make the repeats one
counted event at apply time, which changes nothing on the API's side of the figures.
"""

import secrets
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from bench.run import Bench

SPANS = 100
TARGET = 0.5  # each adapter >= 0.5x native at a comparable batch size
PAIRS = (("adapter_ping", "adapter_native_1"), ("adapter_openlineage", "adapter_native_1"),
         ("adapter_otlp_100", "adapter_native_100"),
         ("adapter_otlp_100", "adapter_native_100_span_like"))  # fmt: skip


def lineage_body(work_dir: Path) -> Path:
    """A COMPLETE RunEvent as openlineage-python sends it."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": datetime.now(UTC).isoformat(),
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "bench", "name": "adapters-openlineage", "facets": {}},
        "inputs": [],
        "outputs": [],
        "producer": "https://lso.example/bench",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    path = work_dir / "lineage.json"
    path.write_bytes(orjson.dumps(event))
    return path


def otlp_body(work_dir: Path, spans: int) -> Path:
    """An ExportTraceServiceRequest of `spans` spans of one service, as the OTLP exporter sends."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

    end_ns = time.time_ns()
    trace_id = secrets.token_bytes(16)
    request = ExportTraceServiceRequest()
    resource: ResourceSpans = request.resource_spans.add()
    resource.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="bench-adapters-otlp"))
    )
    scope: ScopeSpans = resource.scope_spans.add()
    for i in range(spans):
        span: Span = scope.spans.add()
        span.trace_id, span.span_id = trace_id, secrets.token_bytes(8)
        span.name = ("extract", "transform", "load")[i % 3]
        span.kind = Span.SPAN_KIND_INTERNAL
        span.start_time_unix_nano = end_ns - (5 + i % 50) * 1_000_000
        span.end_time_unix_nano = end_ns
        code = Status.STATUS_CODE_ERROR if i % 50 == 49 else Status.STATUS_CODE_OK
        span.status.CopyFrom(Status(code=code))
        span.attributes.append(KeyValue(key="rows", value=AnyValue(int_value=i)))
    path = work_dir / "traces.pb"
    path.write_bytes(request.SerializeToString())
    return path


def native_span_like_body(work_dir: Path, n: int) -> Path:
    """A native batch of `n` events carrying what a span's event carries: a run id, an event id
    and a payload with the span kind and one attribute (the cost of the content, not of OTLP)."""
    now = datetime.now(UTC)
    ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    run_id = secrets.token_hex(16)
    events = [{"ts": ts, "event_type": ("extract", "transform", "load")[i % 3],
               "status": "error" if i % 50 == 49 else "ok", "latency_ms": 5 + i % 50,
               "run_id": run_id, "event_id": f"{run_id}:{secrets.token_hex(8)}",
               "payload": {"kind": "internal", "attributes": {"rows": i}}}
              for i in range(n)]  # fmt: skip
    path = work_dir / f"native-span-like-{n}.json"
    path.write_bytes(orjson.dumps({"events": events}))
    return path


def adapters(bench: "Bench") -> dict[str, dict[str, Any]]:
    s, opts = bench.stack, bench.opts
    native = s.register("bench-adapters-native")
    pinged = s.register("bench-adapters-ping")
    status, key = s.request("POST", f"/systems/{pinged}/keys", {"kind": "ping"})
    if status != 201:
        bench.problems.append(f"adapters: a ping key could not be made ({status}: {key})")
        return {}
    conns, duration_s = opts.connections, opts.duration_s
    proto = {"Content-Type": "application/x-protobuf"}
    runs = (
        ("adapter_native_1", "native N=1", f"/systems/{native}/events", bench.body_file(1), 1, {}),
        ("adapter_ping", "ping URL (1 event)", f"/ping/{key['token']}", None, 1, {}),
        ("adapter_openlineage", "OpenLineage RunEvent (1 event)", "/api/v1/lineage",
         lineage_body(bench.work_dir), 1, {}),
        ("adapter_native_100", "native N=100", f"/systems/{native}/events",
         bench.body_file(SPANS), SPANS, {}),
        ("adapter_native_100_span_like", "native N=100, with run id, event id, payload",
         f"/systems/{native}/events", native_span_like_body(bench.work_dir, SPANS), SPANS, {}),
        ("adapter_otlp_100", f"OTLP/HTTP protobuf ({SPANS} spans)", "/v1/traces",
         otlp_body(bench.work_dir, SPANS), SPANS, proto),
    )  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    for name, label, path, body, n, headers in runs:
        method = "GET" if body is None else "POST"
        res = bench.run_wrk(path, method, body, conns, duration_s, headers=headers)
        rows[name] = bench.row("adapter", f"adapters: {label}", conns, res, n)
    return rows


def ratio_lines(median: Any) -> list[str]:
    """`<adapter>/native` events/s for each pair, from the medians (`median(name, measure)`)."""
    out = []
    for adapter, native in PAIRS:
        a, b = median(adapter, "events_s"), median(native, "events_s")
        if a and b:
            verdict = "met" if a / b >= TARGET else "MISSED"
            names = adapter.removeprefix("adapter_"), native.removeprefix("adapter_")
            out.append(f"- {names[0]}: {a / b:.2f}x {names[1]} (target {TARGET}x: {verdict})")
    return out
