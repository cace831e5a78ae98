"""OTLP requests for the tests, built with opentelemetry-proto's messages, and their OTLP/JSON
form as the specification spells it (hex ids, lowerCamelCase, int64 as strings, enums as
integers). Shared by the adapter, route and system tests."""

import base64
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def ns(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000) * 1000


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    return AnyValue(string_value=v)


def attributes(pairs: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=value(v)) for k, v in pairs.items()]


def span(
    end: datetime,
    latency_ms: float = 12.0,
    name: str = "load",
    *,
    error: bool = False,
    message: str = "",
    attrs: Mapping[str, Any] | None = None,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    kind: int = Span.SPAN_KIND_INTERNAL,
) -> Span:
    end_ns = ns(end)
    return Span(
        trace_id=os.urandom(16) if trace_id is None else trace_id,
        span_id=os.urandom(8) if span_id is None else span_id,
        name=name,
        kind=kind,
        start_time_unix_nano=end_ns - int(latency_ms * 1_000_000),
        end_time_unix_nano=end_ns,
        attributes=attributes(attrs or {}),
        status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_UNSET,
                      message=message),
    )  # fmt: skip


def resource(service: str | None, **extra: Any) -> Resource:
    pairs = {"service.name": service} if service is not None else {}
    return Resource(attributes=attributes({**pairs, **extra}))


def traces(services: Mapping[str | None, list[Span]]) -> ExportTraceServiceRequest:
    """One resource per service (None: a resource without service.name)."""
    return ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=resource(service), scope_spans=[ScopeSpans(spans=spans)])
        for service, spans in services.items()
    ])  # fmt: skip


def log(
    at: datetime,
    body: str = "loaded 10 rows",
    severity: int = 9,
    *,
    text: str = "",
    attrs: Mapping[str, Any] | None = None,
    trace_id: bytes = b"",
) -> LogRecord:
    return LogRecord(
        time_unix_nano=ns(at),
        severity_number=severity,  # type: ignore[arg-type]
        severity_text=text,
        body=AnyValue(string_value=body),
        attributes=attributes(attrs or {}),
        trace_id=trace_id,
    )


def logs(
    services: Mapping[str | None, list[LogRecord]], scope: str = "etl"
) -> ExportLogsServiceRequest:
    return ExportLogsServiceRequest(resource_logs=[
        ResourceLogs(resource=resource(service),
                     scope_logs=[ScopeLogs(scope={"name": scope}, log_records=records)])
        for service, records in services.items()
    ])  # fmt: skip


def as_json(message: Message) -> bytes:
    """The OTLP/JSON encoding of a request: proto3 JSON with hex trace and span ids and enums as
    integers."""
    doc = json_format.MessageToDict(message, use_integers_for_enums=True)
    _hex_ids(doc)
    return orjson.dumps(doc)


def _hex_ids(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _hex_ids(item)
    elif isinstance(node, dict):
        for key, item in node.items():
            if key in _ID_FIELDS and isinstance(item, str):
                node[key] = base64.b64decode(item).hex()
            else:
                _hex_ids(item)
