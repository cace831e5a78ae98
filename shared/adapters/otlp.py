"""OTLP (OpenTelemetry's protocol) into native events: the spans and log records of each service
become events of the system its `service.name` names (docs/otlp.md has the mapping).

Pure, no I/O: a request body in, the events of each service out, with the items refused on the
way and why. The route (api/routes/otlp.py) finds each service's system and hands its events to
the one ingest path, so OTLP has the limits and the errors of native ingest.

Both encodings are read by hand into the same plain values, then mapped once: protobuf through
opentelemetry-proto's messages, JSON (hex ids, int64 as strings or numbers, enums as integers or
names) straight from orjson's dicts, since protobuf's own JSON reader costs ~130 µs a span.
"""

import base64
import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from shared.model.events import ERROR_TEXT_FIELD, MAX_LATENCY_MS, UNSAFE_CHARS
from shared.settings import Settings

SERVICE_NAME = "service.name"
RUN_ID, STAGE = "run_id", "stage"  # the event fields the lso.* attributes set
RUN_ID_ATTRIBUTE, STAGE_ATTRIBUTE = "lso.run_id", "lso.stage"
# What the SDKs report when nobody set a service name: a system of that name would merge every
# unconfigured program into one, so those items are refused and the message says what to set.
PLACEHOLDER_SERVICE = "unknown_service"
MAX_EVENT_TYPE_CHARS = 64
MAX_ATTRIBUTES = 20  # kept in the payload, in the order sent
MAX_VALUE_CHARS = 256  # an attribute's value, as text when it is not a number or a boolean
MAX_TEXT_CHARS = 4096  # a span's status message, a log record's body
MAX_DEPTH = 4  # of array and kvlist values rendered as text
ERROR_SEVERITY = SeverityNumber.SEVERITY_NUMBER_ERROR  # 17: ERROR, ERROR2..4, FATAL..FATAL4
ERROR_TEXTS = frozenset({"ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "ALERT", "EMERG", "PANIC"})
_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_SAFE_INT = 2**53  # larger integers become text: JSON readers lose their precision
_NS_PER_MS = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Undecodable(ValueError):
    """The body is not an OTLP request in the encoding it claims (answered 400)."""


@dataclass(frozen=True)
class Bounds:
    """What ingest would refuse, checked here per item so that one bad span costs only itself."""

    earliest_ns: int
    latest_ns: int
    max_event_age_s: int
    max_future_skew_s: int
    max_payload_bytes: int

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> "Bounds":
        now_ns = (now - _EPOCH) // timedelta(microseconds=1) * 1000
        return cls(
            now_ns - settings.max_event_age_s * 10**9,
            now_ns + settings.max_future_skew_s * 10**9,
            settings.max_event_age_s,
            settings.max_future_skew_s,
            settings.max_payload_bytes,
        )


@dataclass
class Translation:
    """A request's native events by service name (in the order sent), and what was refused."""

    noun: str  # "spans", "log records"
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # why -> how many items
    refused_by_key: int = 0  # of those, refused because the key may not report there

    def refuse(
        self, why: str, items: int = 1, *, service: str | None = None, by_key: bool = False
    ) -> None:
        if service is not None:
            why = f"service {_quoted(service)}: {why}"
        self.refused[why] = self.refused.get(why, 0) + items
        self.refused_by_key += items if by_key else 0

    @property
    def rejected(self) -> int:
        return sum(self.refused.values())

    def message(self, max_reasons: int = 10) -> str:
        """The reasons, most frequent first, each with its count (the `errorMessage`)."""
        ranked = sorted(self.refused.items(), key=lambda kv: -kv[1])
        parts = [f"{why} ({n} {self.noun})" for why, n in ranked[:max_reasons]]
        if len(ranked) > max_reasons:
            parts.append(f"and {len(ranked) - max_reasons} more reasons")
        return f"{self.rejected} {self.noun} rejected: " + "; ".join(parts)


class Refused(Exception):
    """Why one item cannot become an event (counted in partialSuccess, not a request error)."""


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


# --- traces -----------------------------------------------------------------------------------


def traces(body: bytes, as_json: bool, bounds: Bounds) -> Translation:
    resources = _json_spans(body) if as_json else _pb_spans(body)
    translation = Translation("spans")
    for service, defaults, items in _by_service(resources, translation):
        events = translation.events.setdefault(service, [])
        for span in items:
            try:
                events.append(span_event(span, defaults, bounds))
            except Refused as why:
                translation.refuse(str(why), service=service)
    return translation


def span_event(span: SpanItem, defaults: dict[str, str], bounds: Bounds) -> dict[str, Any]:
    """The native event of one span (raises Refused)."""
    if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.trace_id):
        raise Refused("invalid trace or span id")
    if not span.end_ns:
        raise Refused("span without an end time")
    if span.start_ns > span.end_ns:
        raise Refused("span ends before it starts")
    latency_ms = (span.end_ns - span.start_ns) / _NS_PER_MS
    if latency_ms > MAX_LATENCY_MS:
        raise Refused(f"span lasts more than {MAX_LATENCY_MS:.0f} ms")
    picked, rest = _lso_attributes(span.attributes, defaults)
    event = {
        "ts": _ts(span.end_ns, bounds),
        "event_type": _event_type(span.name, "(unnamed)"),
        "status": "error" if span.status_code == Status.STATUS_CODE_ERROR else "ok",
        "latency_ms": latency_ms,
        "run_id": picked.get(RUN_ID) or span.trace_id.hex(),
        "event_id": f"{span.trace_id.hex()}:{span.span_id.hex()}",
    }
    if STAGE in picked:
        event["stage"] = picked[STAGE]
    payload: dict[str, Any] = {"kind": _KINDS[span.kind] if 0 <= span.kind < 6 else span.kind}
    if rest:
        payload["attributes"] = rest
    if event["status"] == "error" and span.status_message:
        payload[ERROR_TEXT_FIELD] = _cut(span.status_message, MAX_TEXT_CHARS)
    _set_payload(event, payload, ERROR_TEXT_FIELD, bounds.max_payload_bytes)
    return event


def _pb_spans(body: bytes) -> Iterator[Resource]:
    request = _parse(ExportTraceServiceRequest, body)
    for rs in request.resource_spans:
        items = [_pb_span(s) for ss in rs.scope_spans for s in ss.spans]
        yield _pb_attributes(rs.resource.attributes), items


def _pb_span(s: Span) -> SpanItem:
    message = s.status.message
    if s.status.code == Status.STATUS_CODE_ERROR and not message:
        recorded = [_pb_attributes(e.attributes) for e in s.events if e.name == "exception"]
        message = _exception_text(recorded[0]) if recorded else ""
    return SpanItem(
        s.trace_id, s.span_id, s.name, s.kind, s.start_time_unix_nano, s.end_time_unix_nano,
        s.status.code, message, _pb_attributes(s.attributes),
    )  # fmt: skip


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


def logs(body: bytes, as_json: bool, bounds: Bounds) -> Translation:
    resources = _json_logs(body) if as_json else _pb_logs(body)
    translation = Translation("log records")
    for service, defaults, items in _by_service(resources, translation):
        events = translation.events.setdefault(service, [])
        for record in items:
            try:
                events.append(log_event(record, defaults, bounds))
            except Refused as why:
                translation.refuse(str(why), service=service)
    return translation


def log_event(record: LogItem, defaults: dict[str, str], bounds: Bounds) -> dict[str, Any]:
    """The native event of one log record (raises Refused): an error at severity ERROR or
    above (by its text when it has no number), else ok; latency 0."""
    at_ns = record.time_ns or record.observed_ns
    if not at_ns:
        raise Refused("log record without a time")
    picked, rest = _lso_attributes(record.attributes, defaults)
    if record.severity_number:
        error = record.severity_number >= ERROR_SEVERITY
    else:
        error = record.severity_text.strip().upper() in ERROR_TEXTS
    event: dict[str, Any] = {
        "ts": _ts(at_ns, bounds),
        "event_type": _event_type(record.event_name or record.scope_name, "log"),
        "status": "error" if error else "ok",
        "latency_ms": 0,
        "event_id": f"log:{record.digest}",
    }
    run_id = picked.get(RUN_ID) or (record.trace_id.hex() if any(record.trace_id) else None)
    if run_id:
        event["run_id"] = run_id
    if STAGE in picked:
        event["stage"] = picked[STAGE]
    severity = record.severity_text or _severity_name(record.severity_number)
    payload: dict[str, Any] = {"severity": severity} if severity else {}
    # An error record's body is the error's text: where health's last_error.message finds it.
    text_field = ERROR_TEXT_FIELD if error else "body"
    if record.body is not None:
        body = record.body if isinstance(record.body, str) else _text(record.body)
        payload[text_field] = _cut(body, MAX_TEXT_CHARS)
    if rest:
        payload["attributes"] = rest
    _set_payload(event, payload, text_field, bounds.max_payload_bytes)
    return event


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


# --- both signals -----------------------------------------------------------------------------


def _by_service(
    resources: Iterable[Resource], translation: Translation
) -> Iterator[tuple[str, dict[str, str], list[Any]]]:
    """Each resource's service name, the lso.* defaults its attributes set, and its items; the
    items of a resource that names no acceptable service are refused here."""
    for attributes, items in resources:
        if not items:
            continue
        service = next((v for k, v in attributes if k == SERVICE_NAME), None)
        if not isinstance(service, str) or not service:
            translation.refuse("no service.name in the resource", len(items))
        elif service == PLACEHOLDER_SERVICE or service.startswith(PLACEHOLDER_SERVICE + ":"):
            why = f"service.name is the SDK's placeholder {_quoted(service)}: set OTEL_SERVICE_NAME"
            translation.refuse(why, len(items))
        else:
            try:
                defaults, _ = _lso_attributes(attributes, {})
            except Refused as why:
                translation.refuse(f"resource {why}", len(items), service=service)
                continue
            yield service, defaults, items


def _exception_text(attributes: Attributes) -> str:
    """The `exception` span event's "<type>: <message>" (what record_exception adds), for an
    error span whose status has no message."""
    found = {k: v for k, v in attributes if k in ("exception.type", "exception.message")}
    parts = [found.get("exception.type"), found.get("exception.message")]
    return ": ".join(str(p) for p in parts if p)


def _lso_attributes(
    attributes: Attributes, defaults: dict[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The run id and stage an item's attributes (else its resource's) name, and the first
    MAX_ATTRIBUTES others for the payload, values as numbers, booleans or bounded text."""
    picked = dict(defaults)
    rest: dict[str, Any] = {}
    for key, value in attributes:
        if key == RUN_ID_ATTRIBUTE:
            picked[RUN_ID] = _identifier(key, value, 128)
        elif key == STAGE_ATTRIBUTE:
            picked[STAGE] = _identifier(key, value, 64)
        elif len(rest) < MAX_ATTRIBUTES and key not in rest:
            rest[_cut(key, MAX_EVENT_TYPE_CHARS)] = _attribute(value)
    return {k: v for k, v in picked.items() if v}, rest


def _identifier(key: str, value: Any, max_chars: int) -> str:
    text = value if isinstance(value, str) else _text(value)
    if len(text) > max_chars:
        raise Refused(f"attribute {key} is longer than {max_chars} characters")
    if UNSAFE_CHARS.search(text):
        raise Refused(f"attribute {key} holds a control or formatting character")
    return text


def _attribute(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and -_SAFE_INT < value < _SAFE_INT:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _cut(value if isinstance(value, str) else _text(value), MAX_VALUE_CHARS)


def _text(value: Any) -> str:
    """A non-text value as text: JSON for arrays and maps, base64 for bytes."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _event_type(name: str, fallback: str) -> str:
    """Control and formatting characters dropped, cut to 64 characters (never refused)."""
    clean = UNSAFE_CHARS.sub("", name).strip()
    return clean[:MAX_EVENT_TYPE_CHARS] if clean else fallback


def _ts(at_ns: int, bounds: Bounds) -> str:
    if at_ns < bounds.earliest_ns:
        raise Refused(f"dated more than {bounds.max_event_age_s} s before now")
    if at_ns > bounds.latest_ns:
        raise Refused(f"dated more than {bounds.max_future_skew_s} s after now")
    at = _EPOCH + timedelta(microseconds=at_ns // 1000)
    return at.isoformat(timespec="microseconds")


def _set_payload(event: dict[str, Any], payload: dict[str, Any], text: str, limit: int) -> None:
    """The payload if it fits LSO_MAX_PAYLOAD_BYTES; else without attributes, then with its text
    field cut to fit; else none."""
    size = len(orjson.dumps(payload))
    if size > limit and "attributes" in payload:
        del payload["attributes"]
        size = len(orjson.dumps(payload))
    if size > limit and text in payload:
        # A character costs at most 6 bytes in JSON (an escape): cut to what surely fits.
        rest = len(orjson.dumps({k: v for k, v in payload.items() if k != text})) + len(text) + 6
        payload[text] = _cut(payload[text], max(0, (limit - rest) // 6))
        size = len(orjson.dumps(payload))
    if payload and size <= limit:
        event["payload"] = payload


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max(0, max_chars - 1)] + "…"


def _quoted(text: str) -> str:
    clean = UNSAFE_CHARS.sub("", text)
    return repr(clean if len(clean) <= 64 else clean[:63] + "…")


def _severity_name(number: int) -> str:
    if not number:
        return ""
    try:
        return str(SeverityNumber.Name(number)).removeprefix("SEVERITY_NUMBER_")
    except ValueError:
        return str(number)


# --- protobuf ---------------------------------------------------------------------------------


def _parse(kind: Any, body: bytes) -> Any:
    try:
        return kind.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise Undecodable(f"not a protobuf {kind.__name__}: {exc}") from None


def _pb_attributes(pairs: Any) -> Attributes:
    return [(kv.key, _pb_value(kv.value, 0)) for kv in pairs]


def _pb_value(value: AnyValue, depth: int) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        if depth >= MAX_DEPTH:
            return "…"
        return [_pb_value(v, depth + 1) for v in value.array_value.values[:MAX_ATTRIBUTES]]
    if which == "kvlist_value":
        if depth >= MAX_DEPTH:
            return "…"
        pairs = value.kvlist_value.values[:MAX_ATTRIBUTES]
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
    raise Undecodable(f"{key} must be an integer, not {_text(value)[:40]}")


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
        items = _list(_dict(value, key), "values")[:MAX_ATTRIBUTES]
        if key == "arrayValue":
            return [_json_value(v, where, depth + 1) for v in items]
        return {_str(kv, "key"): _json_value(kv.get("value"), where, depth + 1) for kv in items}
    if key not in ("boolValue", "doubleValue", "bytesValue"):
        return None  # a kind of value this version does not know: ignored, as the spec asks
    raise Undecodable(f"{where}: {key} has the wrong type")


# --- answers ----------------------------------------------------------------------------------


def trace_response(translation: Translation | None, as_json: bool) -> bytes:
    """An ExportTraceServiceResponse: empty for a full success, else partialSuccess."""
    if translation is None or not translation.rejected:
        return b"{}" if as_json else b""
    rejected, message = translation.rejected, translation.message()
    if as_json:
        return orjson.dumps({"partialSuccess": {"rejectedSpans": str(rejected),
                                                "errorMessage": message}})  # fmt: skip
    partial = ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
    return bytes(ExportTraceServiceResponse(partial_success=partial).SerializeToString())


def logs_response(translation: Translation | None, as_json: bool) -> bytes:
    """An ExportLogsServiceResponse: empty for a full success, else partialSuccess."""
    if translation is None or not translation.rejected:
        return b"{}" if as_json else b""
    rejected, message = translation.rejected, translation.message()
    if as_json:
        return orjson.dumps({"partialSuccess": {"rejectedLogRecords": str(rejected),
                                                "errorMessage": message}})  # fmt: skip
    partial = ExportLogsPartialSuccess(rejected_log_records=rejected, error_message=message)
    return bytes(ExportLogsServiceResponse(partial_success=partial).SerializeToString())


def status(code: int, message: str, as_json: bool) -> bytes:
    """A google.rpc.Status, the body of an OTLP error answer. Encoded by hand: two fields do not
    justify a dependency on googleapis-common-protos."""
    if as_json:
        return orjson.dumps({"code": code, "message": message})
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)
