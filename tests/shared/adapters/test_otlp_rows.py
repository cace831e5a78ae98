"""The OTLP adapter's rows go to the stream without a second validation (Ingest.accept_rows), so
each must be exactly what native validation makes of the event it stands for: generated spans and
log records of every shape (any text in names, ids and attributes, times in and out of range,
huge numbers, nested values, tight payload limits), translated, written back as the native event
and validated by the reference validator, must come back as the same rows, never refused."""

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from shared.adapters import otlp
from shared.ingest.validate import BatchValidator
from shared.settings import Settings
from tests.shared.adapters import otlp_requests as req
from tests.support.events import as_sent

NOW = datetime(2026, 12, 1, 9, 0, 0, 123_456, tzinfo=UTC)
NOW_NS = req.ns(NOW)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Any text a protobuf string can hold (valid UTF-8: no lone surrogates), control and formatting
# characters included, and the lso.* attribute names often enough to matter.
CHARS = st.characters(exclude_categories=("Cs",))
# Without control and formatting characters: long text of only these reaches the length limits.
PRINTABLE = st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp"))
# Short, and around the limits of event types and stages (64) and run ids (128).
TEXT = st.one_of(
    st.text(CHARS, max_size=20), st.text(PRINTABLE, min_size=60, max_size=70),
    st.text(PRINTABLE, min_size=124, max_size=134), st.text(CHARS, min_size=60, max_size=134),
)  # fmt: skip
LONG_TEXT = st.one_of(TEXT, st.text(CHARS, max_size=6000))
KEYS = st.one_of(st.sampled_from(["lso.run_id", "lso.stage", "rows", "service.name"]), TEXT)
SCALARS = st.one_of(
    st.builds(AnyValue, string_value=LONG_TEXT),
    st.builds(AnyValue, bool_value=st.booleans()),
    st.builds(AnyValue, int_value=st.integers(-(2**63), 2**63 - 1)),
    st.builds(AnyValue, double_value=st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(AnyValue, bytes_value=st.binary(max_size=40)),
    st.just(AnyValue()),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.builds(
            lambda vs: AnyValue(array_value=ArrayValue(values=vs)), st.lists(inner, max_size=4)
        ),
        st.builds(
            lambda kvs: AnyValue(
                kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kvs])
            ),
            st.lists(st.tuples(TEXT, inner), max_size=4),
        ),  # fmt: skip
    ),
    max_leaves=12,
)
LSO_ATTRIBUTES = st.builds(
    KeyValue, key=st.sampled_from(["lso.run_id", "lso.stage"]),
    value=st.one_of(st.builds(AnyValue, string_value=TEXT), SCALARS),
)  # fmt: skip
ATTRIBUTES = st.lists(
    st.one_of(LSO_ATTRIBUTES, st.builds(KeyValue, key=KEYS, value=VALUES)), max_size=25
)
# Anywhere around the accepted range (a day back, five minutes ahead), and close to its ends.
DEFAULTS = Settings()
EARLIEST_NS = NOW_NS - DEFAULTS.max_event_age_s * 10**9
LATEST_NS = NOW_NS + DEFAULTS.max_future_skew_s * 10**9
AT_NS = st.one_of(
    st.integers(EARLIEST_NS, LATEST_NS),
    st.integers(EARLIEST_NS - 10**12, LATEST_NS + 10**12),
    st.integers(EARLIEST_NS - 10**7, EARLIEST_NS + 10**7),
    st.integers(LATEST_NS - 10**7, LATEST_NS + 10**7),
)
LATENCY_NS = st.one_of(st.integers(0, 10**9), st.integers(0, 2 * 10**16))
# Mostly well formed, so that most spans get as far as their attributes.
ID16 = st.one_of(*[st.binary(min_size=16, max_size=16)] * 4, st.binary(max_size=20))
ID8 = st.one_of(*[st.binary(min_size=8, max_size=8)] * 4, st.binary(max_size=10))
PAYLOAD_LIMITS = st.sampled_from([0, 40, 300, 8192, 65536])


@st.composite
def spans(draw: st.DrawFn) -> Span:
    end_ns = draw(AT_NS)
    return Span(
        trace_id=draw(ID16), span_id=draw(ID8), name=draw(TEXT),
        kind=draw(st.integers(0, 7)),  # type: ignore[arg-type]
        start_time_unix_nano=max(0, end_ns - draw(LATENCY_NS)), end_time_unix_nano=end_ns,
        attributes=draw(ATTRIBUTES),
        status=Status(code=draw(st.integers(0, 2)), message=draw(LONG_TEXT)),  # type: ignore[arg-type]
    )  # fmt: skip


@st.composite
def records(draw: st.DrawFn) -> LogRecord:
    return LogRecord(
        time_unix_nano=draw(st.one_of(st.just(0), AT_NS)), observed_time_unix_nano=draw(AT_NS),
        severity_number=draw(st.integers(0, 24)), severity_text=draw(TEXT),  # type: ignore[arg-type]
        body=draw(VALUES), attributes=draw(ATTRIBUTES), trace_id=draw(ID16),
        event_name=draw(TEXT),
    )  # fmt: skip


def assert_rows_are_natives(translation: otlp.Translation, config: Settings) -> None:
    validator = BatchValidator(config)
    now_ms = (NOW - _EPOCH) // timedelta(milliseconds=1)
    latest_ms = now_ms + config.max_future_skew_s * 1000
    earliest_ms = now_ms - config.max_event_age_s * 1000
    for rows in translation.events.values():
        if not rows:
            continue
        body = orjson.dumps({"events": [as_sent(row) for row in rows]})
        assert validator.validate_with_pydantic(7, body, latest_ms, earliest_ms) == rows
        assert validator.validate(7, body, NOW) == rows


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b/c"]), spans()), min_size=1, max_size=6),
    ATTRIBUTES,
    PAYLOAD_LIMITS,
)
def test_span_rows_are_what_native_validation_makes_of_their_events(
    items: list[tuple[str, Span]], resource_attributes: list[KeyValue], max_payload_bytes: int
) -> None:
    by_service: dict[str | None, list[Span]] = {}
    for service, span in items:
        by_service.setdefault(service, []).append(span)
    request = req.traces(by_service)
    request.resource_spans[0].resource.attributes.extend(resource_attributes)
    config = Settings(max_payload_bytes=max_payload_bytes)
    bounds = otlp.Bounds.of(config, NOW)

    from_pb = otlp.traces(request.SerializeToString(), False, bounds)
    assert_rows_are_natives(from_pb, config)
    assert sum(map(len, from_pb.events.values())) + from_pb.rejected == len(items)
    from_json = otlp.traces(req.as_json(request), True, bounds)
    assert_rows_are_natives(from_json, config)


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(records(), min_size=1, max_size=6), PAYLOAD_LIMITS)
def test_log_rows_are_what_native_validation_makes_of_their_events(
    items: list[LogRecord], max_payload_bytes: int
) -> None:
    config = Settings(max_payload_bytes=max_payload_bytes)
    bounds = otlp.Bounds.of(config, NOW)
    request = req.logs({"a": items})

    translation = otlp.logs(request.SerializeToString(), False, bounds)
    assert_rows_are_natives(translation, config)
    assert sum(map(len, translation.events.values())) + translation.rejected == len(items)
    assert_rows_are_natives(otlp.logs(req.as_json(request), True, bounds), config)
