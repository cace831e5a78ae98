"""OTLP (OpenTelemetry's protocol) into native events: the spans and log records of each service
become events of the system its `service.name` names (docs/otlp.md has the mapping).

Pure, no I/O: a request body in, the events of each service out, with the items refused on the
way and why. The route (api/routes/otlp.py) finds each service's system and hands its events to
the one ingest path, so OTLP has the limits and the errors of native ingest.

The body is read by shared/adapters/otlp_decode.py, which raises Undecodable for a body that is
no OTLP request; here the plain values it reads are mapped, the same for both encodings. What
ingest would refuse is refused per item (Refused, counted in the Translation), never the request.
The answers are encoded by shared/adapters/otlp_answers.py.
"""

import base64
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from shared.adapters.otlp_decode import (
    Attributes,
    LogItem,
    Resource,
    SpanItem,
    read_logs,
    read_spans,
)
from shared.model.events import ERROR_TEXT_FIELD, MAX_LATENCY_MS, UNSAFE_CHARS
from shared.settings import Settings

SERVICE_NAME = "service.name"
RUN_ID, STAGE = "run_id", "stage"  # the event fields the lso.* attributes set
RUN_ID_ATTRIBUTE, STAGE_ATTRIBUTE = "lso.run_id", "lso.stage"
_LSO_FIELDS = {RUN_ID_ATTRIBUTE: (RUN_ID, 128), STAGE_ATTRIBUTE: (STAGE, 64)}  # field, max chars
# What the SDKs report when nobody set a service name: a system of that name would merge every
# unconfigured program into one, so those items are refused and the message says what to set.
PLACEHOLDER_SERVICE = "unknown_service"
MAX_EVENT_TYPE_CHARS = 64
MAX_ATTRIBUTES = 20  # kept in the payload, in the order sent
MAX_VALUE_CHARS = 256  # an attribute's value, as text when it is not a number or a boolean
MAX_TEXT_CHARS = 4096  # a span's status message, a log record's body
ERROR_SEVERITY = SeverityNumber.SEVERITY_NUMBER_ERROR  # 17: ERROR, ERROR2..4, FATAL..FATAL4
ERROR_TEXTS = frozenset({"ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "ALERT", "EMERG", "PANIC"})
_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_SAFE_INT = 2**53  # larger integers become text: JSON readers lose their precision
_NS_PER_MS = 1_000_000
_NO_TRACE = bytes(16)  # all zeros: an invalid trace id
_STATUS_ERROR = Status.STATUS_CODE_ERROR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    """A request's native event rows by service name (in the order sent), and what was refused.

    The rows are the compact ones of shared/model/codec.py, built to hold only what native
    validation accepts (the event's fields, the ts range, the payload's size and nesting), so
    ingest appends them without validating them again (`Ingest.accept_rows`); a property test
    (tests/shared/adapters/test_otlp_rows.py) holds them to BatchValidator's verdicts."""

    noun: str  # "spans", "log records"
    events: dict[str, list[list[Any]]] = field(default_factory=dict)
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


# --- traces -----------------------------------------------------------------------------------


def traces(body: bytes, as_json: bool, bounds: Bounds) -> Translation:
    """The events of an OTLP trace request by service, and the spans refused (raises
    Undecodable)."""
    return _translated(read_spans(body, as_json), Translation("spans"), span_row, bounds)


def span_row(span: SpanItem, defaults: dict[str, str], bounds: Bounds) -> list[Any]:
    """The native event row of one span (raises Refused)."""
    trace, span_id, name, kind, start_ns, end_ns, code, message, attributes = span
    if len(trace) != 16 or len(span_id) != 8 or trace == _NO_TRACE:
        raise Refused("invalid trace or span id")
    if not end_ns:
        raise Refused("span without an end time")
    if start_ns > end_ns:
        raise Refused("span ends before it starts")
    latency_ms = (end_ns - start_ns) / _NS_PER_MS
    if latency_ms > MAX_LATENCY_MS:
        raise Refused(f"span lasts more than {MAX_LATENCY_MS:.0f} ms")
    ts_ms = _ts_ms(end_ns, bounds)
    picked, rest = _lso_attributes(attributes, defaults)
    trace_id = trace.hex()
    error = code == _STATUS_ERROR
    payload: dict[str, Any] = {"kind": _KINDS[kind] if 0 <= kind < 6 else kind}
    if rest:
        payload["attributes"] = rest
    if error and message:
        payload[ERROR_TEXT_FIELD] = _cut(message, MAX_TEXT_CHARS)
    return [
        ts_ms, int(error), latency_ms, _NAMES.get(name) or _event_type(name, "(unnamed)"),
        picked.get(STAGE), picked.get(RUN_ID) or trace_id, f"{trace_id}:{span_id.hex()}",
        _fitted(payload, ERROR_TEXT_FIELD, bounds.max_payload_bytes),
    ]  # fmt: skip


# --- logs -------------------------------------------------------------------------------------


def logs(body: bytes, as_json: bool, bounds: Bounds) -> Translation:
    """The events of an OTLP logs request by service, and the records refused (raises
    Undecodable)."""
    return _translated(read_logs(body, as_json), Translation("log records"), log_row, bounds)


def log_row(record: LogItem, defaults: dict[str, str], bounds: Bounds) -> list[Any]:
    """The native event row of one log record (raises Refused): an error at severity ERROR or
    above (by its text when it has no number), else ok; latency 0."""
    at_ns = record.time_ns or record.observed_ns
    if not at_ns:
        raise Refused("log record without a time")
    ts_ms = _ts_ms(at_ns, bounds)
    picked, rest = _lso_attributes(record.attributes, defaults)
    if record.severity_number:
        error = record.severity_number >= ERROR_SEVERITY
    else:
        error = record.severity_text.strip().upper() in ERROR_TEXTS
    run_id = picked.get(RUN_ID) or (record.trace_id.hex() if any(record.trace_id) else None)
    severity = record.severity_text or _severity_name(record.severity_number)
    payload: dict[str, Any] = {"severity": severity} if severity else {}
    # An error record's body is the error's text: where health's last_error.message finds it.
    text_field = ERROR_TEXT_FIELD if error else "body"
    if record.body is not None:
        body = record.body if isinstance(record.body, str) else _text(record.body)
        payload[text_field] = _cut(body, MAX_TEXT_CHARS)
    if rest:
        payload["attributes"] = rest
    return [
        ts_ms, int(error), 0.0, _event_type(record.event_name or record.scope_name, "log"),
        picked.get(STAGE), run_id, f"log:{record.digest}",
        _fitted(payload, text_field, bounds.max_payload_bytes),
    ]  # fmt: skip


# --- both signals -----------------------------------------------------------------------------


def _translated(
    resources: Iterable[Resource],
    translation: Translation,
    to_row: Callable[[Any, dict[str, str], Bounds], list[Any]],
    bounds: Bounds,
) -> Translation:
    """Each item of each acceptable service made a row by `to_row`, or refused alone."""
    for service, defaults, items in _by_service(resources, translation):
        rows = translation.events.setdefault(service, [])
        for item in items:
            try:
                rows.append(to_row(item, defaults, bounds))
            except Refused as why:
                translation.refuse(str(why), service=service)
    return translation


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


def _lso_attributes(
    attributes: Attributes, defaults: dict[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The run id and stage an item's attributes (else its resource's) name, and the first
    MAX_ATTRIBUTES others for the payload, values as numbers, booleans or bounded text."""
    picked = defaults
    rest: dict[str, Any] = {}
    for key, value in attributes:
        if key in _LSO_FIELDS:
            name, max_chars = _LSO_FIELDS[key]
            text = _identifier(key, value, max_chars)
            # Copied only here: the defaults are shared by every item of the resource.
            picked = {k: v for k, v in picked.items() if k != name}
            if text:
                picked[name] = text
        elif len(rest) < MAX_ATTRIBUTES:
            if len(key) > MAX_EVENT_TYPE_CHARS:
                key = _cut(key, MAX_EVENT_TYPE_CHARS)
            if key not in rest:
                # The common values (short text, small integers) as they are, without a call.
                kind = type(value)
                plain = (kind is str and len(value) <= MAX_VALUE_CHARS) or (
                    kind is int and -_SAFE_INT < value < _SAFE_INT
                )
                rest[key] = value if plain else _attribute(value)
    return picked, rest


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
    """Control and formatting characters dropped, cut to 64 characters (never refused). The
    names of one service's spans repeat: each is cleaned once."""
    clean = _NAMES.get(name)
    if clean is None:
        stripped = UNSAFE_CHARS.sub("", name).strip()[:MAX_EVENT_TYPE_CHARS]
        if len(_NAMES) >= 4096:
            _NAMES.clear()
        clean = _NAMES[name] = stripped
    return clean or fallback


_NAMES: dict[str, str] = {}


def _ts_ms(at_ns: int, bounds: Bounds) -> int:
    """Milliseconds since the epoch, as LSO keeps times; refused outside the accepted range."""
    if at_ns < bounds.earliest_ns:
        raise Refused(f"dated more than {bounds.max_event_age_s} s before now")
    if at_ns > bounds.latest_ns:
        raise Refused(f"dated more than {bounds.max_future_skew_s} s after now")
    return at_ns // _NS_PER_MS


def _fitted(payload: dict[str, Any], text: str, limit: int) -> dict[str, Any] | None:
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
    return payload if payload and size <= limit else None


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
