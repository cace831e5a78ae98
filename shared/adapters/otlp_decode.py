"""OTLP/HTTP request bodies read into plain values: each resource's attributes and its spans or
log records, the same for both encodings, for the mapping (shared/adapters/otlp.py) to judge.

Pure, no I/O. A body that is not an OTLP request in the encoding it claims raises Undecodable
(answered 400), as the readers are iterated; nothing else is refused here. Protobuf is read
through opentelemetry-proto's messages, JSON (hex ids, int64 as strings or numbers, enums as
integers or names) by hand from orjson's dicts, since protobuf's own JSON reader costs ~130 µs a
span. Attribute values become plain values (arrays and kvlists as lists and dicts, at most
MAX_ITEMS long and MAX_DEPTH deep); an error span without a status message takes its
`exception` event's text; a log record carries a digest of the record and its resource as sent,
its event id.
"""

import base64
import hashlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

MAX_ITEMS = 20  # of an array or kvlist value, the rest dropped
MAX_DEPTH = 4  # of array and kvlist values, deeper ones read as "…"


class Undecodable(ValueError):
    """The body is not an OTLP request in the encoding it claims (answered 400)."""


# --- the plain values both encodings are read into -------------------------------------------

Attributes = list[tuple[str, Any]]  # (key, AnyValue read as a plain value), in the order sent


class SpanItem(NamedTuple):
    trace_id: bytes
    span_id: bytes
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: Attributes


class LogItem(NamedTuple):
    time_ns: int
    observed_ns: int
    severity_number: int
    severity_text: str
    body: Any
    attributes: Attributes
    trace_id: bytes
    event_name: str
    scope_name: str
    digest: str  # of the resource and the record as sent: the record's event id


Resource = tuple[Attributes, list[Any]]  # the resource's attributes, its items


# --- the readers ------------------------------------------------------------------------------


def read_spans(body: bytes, as_json: bool) -> Iterator[Resource]:
    """The resources of an ExportTraceServiceRequest, each with its spans (raises Undecodable)."""
    return _json_spans(body) if as_json else _pb_spans(body)


def read_logs(body: bytes, as_json: bool) -> Iterator[Resource]:
    """The resources of an ExportLogsServiceRequest, each with its records (raises Undecodable)."""
    return _json_logs(body) if as_json else _pb_logs(body)


# --- traces -----------------------------------------------------------------------------------


def _pb_spans(body: bytes) -> Iterator[Resource]:
    request = _parse(ExportTraceServiceRequest, body)
    for rs in request.resource_spans:
        items = [_pb_span(s) for ss in rs.scope_spans for s in ss.spans]
        yield _pb_attributes(rs.resource.attributes), items


def _pb_span(s: Span) -> SpanItem:
    # Each field read through upb costs ~0.1 µs: read once, and the message only of an error.
    status = s.status
    code, message = status.code, ""
    if code == Status.STATUS_CODE_ERROR:
        message = status.message
        if not message:
            recorded = [_pb_attributes(e.attributes) for e in s.events if e.name == "exception"]
            message = _exception_text(recorded[0]) if recorded else ""
    # _make: a third of the constructor's cost, which goes through keyword handling.
    return SpanItem._make((
        s.trace_id, s.span_id, s.name, s.kind, s.start_time_unix_nano, s.end_time_unix_nano,
        code, message, _pb_attributes(s.attributes),
    ))  # fmt: skip


def _json_spans(body: bytes) -> Iterator[Resource]:
    doc = _json_doc(body)
    for rs in _list(doc, "resourceSpans"):
        items = []
        for ss in _list(rs, "scopeSpans"):
            for s in _list(ss, "spans"):
                status = _dict(s, "status")
                code, message = _enum(status, "code", Status.StatusCode), _str(status, "message")
                if code == Status.STATUS_CODE_ERROR and not message:
                    recorded = [e for e in _list(s, "events") if e.get("name") == "exception"]
                    message = _exception_text(_json_attributes(recorded[0])) if recorded else ""
                items.append(SpanItem(
                    _hex(s, "traceId"), _hex(s, "spanId"), _str(s, "name"),
                    _enum(s, "kind", Span.SpanKind), _int(s, "startTimeUnixNano"),
                    _int(s, "endTimeUnixNano"), code, message, _json_attributes(s),
                ))  # fmt: skip
        yield _json_attributes(_dict(rs, "resource")), items


# --- logs -------------------------------------------------------------------------------------


def _pb_logs(body: bytes) -> Iterator[Resource]:
    request = _parse(ExportLogsServiceRequest, body)
    for rl in request.resource_logs:
        resource_bytes = rl.resource.SerializeToString(deterministic=True)
        resource = hashlib.blake2b(resource_bytes, digest_size=10)
        items = []
        for sl in rl.scope_logs:
            for r in sl.log_records:
                digest = resource.copy()
                digest.update(r.SerializeToString(deterministic=True))
                value = _pb_value(r.body, 0) if r.HasField("body") else None
                items.append(LogItem(
                    r.time_unix_nano, r.observed_time_unix_nano, r.severity_number,
                    r.severity_text, value, _pb_attributes(r.attributes), r.trace_id,
                    r.event_name, sl.scope.name, digest.hexdigest(),
                ))  # fmt: skip
        yield _pb_attributes(rl.resource.attributes), items


def _json_logs(body: bytes) -> Iterator[Resource]:
    doc = _json_doc(body)
    for rl in _list(doc, "resourceLogs"):
        resource_doc = _dict(rl, "resource")
        resource = hashlib.blake2b(orjson.dumps(resource_doc, option=orjson.OPT_SORT_KEYS),
                                   digest_size=10)  # fmt: skip
        items = []
        for sl in _list(rl, "scopeLogs"):
            scope = _str(_dict(sl, "scope"), "name")
            for r in _list(sl, "logRecords"):
                digest = resource.copy()
                digest.update(orjson.dumps(r, option=orjson.OPT_SORT_KEYS))
                value = r.get("body")
                items.append(LogItem(
                    _int(r, "timeUnixNano"), _int(r, "observedTimeUnixNano"),
                    _enum(r, "severityNumber", SeverityNumber), _str(r, "severityText"),
                    None if value is None else _json_value(value, "body", 0),
                    _json_attributes(r), _hex(r, "traceId"), _str(r, "eventName"), scope,
                    digest.hexdigest(),
                ))  # fmt: skip
        yield _json_attributes(resource_doc), items


def _exception_text(attributes: Attributes) -> str:
    """The `exception` span event's "<type>: <message>" (what record_exception adds), for an
    error span whose status has no message."""
    found = {k: v for k, v in attributes if k in ("exception.type", "exception.message")}
    parts = [found.get("exception.type"), found.get("exception.message")]
    return ": ".join(str(p) for p in parts if p)


# --- protobuf ---------------------------------------------------------------------------------


def _parse(kind: Any, body: bytes) -> Any:
    try:
        return kind.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise Undecodable(f"not a protobuf {kind.__name__}: {exc}") from None


def _pb_attributes(pairs: Any) -> Attributes:
    out = []
    for kv in pairs:
        value = kv.value
        which = value.WhichOneof("value")
        # Most values are scalars: read here, without a call per attribute.
        if which in _SCALARS:
            out.append((kv.key, getattr(value, which)))
        else:
            out.append((kv.key, _pb_value(value, 0)))
    return out


_SCALARS = frozenset({"string_value", "bool_value", "int_value", "double_value", "bytes_value"})


def _pb_value(value: AnyValue, depth: int) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        if depth >= MAX_DEPTH:
            return "…"
        return [_pb_value(v, depth + 1) for v in value.array_value.values[:MAX_ITEMS]]
    if which == "kvlist_value":
        if depth >= MAX_DEPTH:
            return "…"
        pairs = value.kvlist_value.values[:MAX_ITEMS]
        return {kv.key: _pb_value(kv.value, depth + 1) for kv in pairs}
    return getattr(value, which)


# --- JSON -------------------------------------------------------------------------------------


def _json_doc(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Undecodable(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Undecodable("the body must be a JSON object")
    return doc


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Undecodable(f"{key} must be a list of objects")
    return value


def _dict(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Undecodable(f"{key} must be an object")
    return value


def _str(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Undecodable(f"{key} must be a string")
    return value


def _int(doc: dict[str, Any], key: str) -> int:
    """An integer field: a number or, as proto3's JSON writes int64, a decimal string."""
    value = doc.get(key)
    if value is None:
        return 0
    if type(value) is int:
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) <= 20:
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    shown = value if isinstance(value, str) else orjson.dumps(value).decode()
    raise Undecodable(f"{key} must be an integer, not {shown[:40]}")


def _enum(doc: dict[str, Any], key: str, kind: Any) -> int:
    """An enum field: its integer (as the OTLP/JSON spec says) or its name."""
    value = doc.get(key)
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        try:
            return int(kind.Value(value))
        except ValueError:
            raise Undecodable(f"{key}: unknown value {value[:40]!r}") from None
    return _int(doc, key)


def _hex(doc: dict[str, Any], key: str) -> bytes:
    """A trace or span id: hex in OTLP/JSON (not base64 as proto3's JSON would have it)."""
    value = _str(doc, key)
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise Undecodable(f"{key} must be hex, not {value[:40]!r}") from None


def _json_attributes(doc: dict[str, Any]) -> Attributes:
    pairs = []
    for kv in _list(doc, "attributes"):
        pairs.append((_str(kv, "key"), _json_value(kv.get("value"), "value", 0)))
    return pairs


def _json_value(value: Any, where: str, depth: int) -> Any:
    """An AnyValue object (`{"stringValue": ...}`, `{"intValue": "3"}`, ...) as a plain value."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Undecodable(f"{where} must be an AnyValue object")
    if not value:
        return None
    key = next(iter(value))
    if key == "stringValue":
        return _str(value, key)
    if key == "boolValue" and isinstance(value[key], bool):
        return value[key]
    if key == "intValue":
        return _int(value, key)
    if key == "doubleValue" and isinstance(value[key], int | float | str):
        try:
            return float(value[key])  # proto3 JSON writes NaN and Infinity as strings
        except ValueError:
            pass
    if key == "bytesValue":
        try:
            return base64.b64decode(_str(value, key), validate=True)
        except ValueError:
            pass
    if key in ("arrayValue", "kvlistValue"):
        if depth >= MAX_DEPTH:
            return "…"
        items = _list(_dict(value, key), "values")[:MAX_ITEMS]
        if key == "arrayValue":
            return [_json_value(v, where, depth + 1) for v in items]
        return {_str(kv, "key"): _json_value(kv.get("value"), where, depth + 1) for kv in items}
    if key not in ("boolValue", "doubleValue", "bytesValue"):
        return None  # a kind of value this version does not know: ignored, as the spec asks
    raise Undecodable(f"{where}: {key} has the wrong type")
