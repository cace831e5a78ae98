"""The OTLP adapter without HTTP: what each span and log record becomes, what is refused and why,
both encodings read alike, and the answers the specification asks for."""

import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from shared.adapters import otlp, otlp_answers, otlp_decode
from shared.ingest.validate import BatchValidator
from shared.settings import Settings
from tests.shared.adapters import otlp_requests as req
from tests.support.events import as_sent

NOW = datetime(2026, 12, 1, 9, 0, 0, 500_000, tzinfo=UTC)
SETTINGS = Settings()
BOUNDS = otlp.Bounds.of(SETTINGS, NOW)
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN = bytes.fromhex("eee19b7ec3c1b174")


def translate_traces(request: Any, as_json: bool = False, bounds: otlp.Bounds = BOUNDS) -> Any:
    body = req.as_json(request) if as_json else request.SerializeToString()
    return otlp.traces(body, as_json, bounds)


def sent(translation: otlp.Translation) -> dict[str, list[dict[str, Any]]]:
    """The translation's rows by service as the native events they stand for."""
    return {name: [as_sent(row) for row in rows] for name, rows in translation.events.items()}


def test_a_span_becomes_one_event_of_its_service() -> None:
    span = req.span(NOW, 250.5, "load orders", error=True, message="disk full",
                    attrs={"rows": 3, "table": "orders", "lso.stage": "load"},
                    trace_id=TRACE, span_id=SPAN, kind=Span.SPAN_KIND_CONSUMER)  # fmt: skip
    translation = translate_traces(req.traces({"orders-etl": [span]}))

    assert translation.rejected == 0
    assert sent(translation) == {"orders-etl": [{
        "ts": "2026-12-01T09:00:00.500Z",
        "event_type": "load orders",
        "status": "error",
        "latency_ms": 250.5,
        "run_id": TRACE.hex(),  # no lso.run_id: the trace is the run
        "stage": "load",
        "event_id": f"{TRACE.hex()}:{SPAN.hex()}",
        "payload": {"kind": "consumer", "attributes": {"rows": 3, "table": "orders"},
                    "error": "disk full"},
    }]}  # fmt: skip


def test_the_events_pass_native_validation_as_they_are() -> None:
    spans = [req.span(NOW - timedelta(seconds=i), i, error=i % 3 == 0) for i in range(50)]
    translation = translate_traces(req.traces({"a": spans}))
    body = orjson.dumps({"events": sent(translation)["a"]})

    rows = BatchValidator(SETTINGS).validate(1, body, NOW)
    assert [row[1] for row in rows] == [int(i % 3 == 0) for i in range(50)]
    assert [row[2] for row in rows] == [float(i) for i in range(50)]


def test_lso_attributes_name_the_run_and_stage_span_first_then_resource() -> None:
    request = req.traces({"a": [req.span(NOW, attrs={"lso.run_id": "nightly-0017"}),
                                req.span(NOW, trace_id=TRACE)]})  # fmt: skip
    request.resource_spans[0].resource.attributes.extend(
        req.attributes({"lso.run_id": "from-resource", "lso.stage": "extract"})
    )
    first, second = sent(translate_traces(request))["a"]

    assert (first["run_id"], first["stage"]) == ("nightly-0017", "extract")
    assert (second["run_id"], second["stage"]) == ("from-resource", "extract")


def test_the_status_decides_ok_or_error_and_the_exception_event_gives_a_missing_message() -> None:
    unset, ok, error = (req.span(NOW), req.span(NOW), req.span(NOW, error=True))
    ok.status.code = ok.status.STATUS_CODE_OK
    exception = error.events.add(name="exception")
    exception.attributes.extend(req.attributes({"exception.type": "ValueError",
                                                "exception.message": "bad row 7"}))  # fmt: skip
    events = sent(translate_traces(req.traces({"a": [unset, ok, error]})))["a"]

    assert [e["status"] for e in events] == ["ok", "ok", "error"]
    assert events[2]["payload"]["error"] == "ValueError: bad row 7"
    assert "error" not in events[0]["payload"]


def test_names_are_cut_to_64_characters_and_cleaned_never_refused() -> None:
    names = ["x" * 200, "tab\there\u200b", "", "\x00\x01"]
    events = sent(translate_traces(req.traces({"a": [req.span(NOW, name=n) for n in names]})))
    assert [e["event_type"] for e in events["a"]] == [
        "x" * 64, "tabhere", "(unnamed)", "(unnamed)"
    ]  # fmt: skip


def test_the_payload_keeps_20_attributes_bounded_and_fits_the_payload_limit() -> None:
    attrs: dict[str, Any] = {f"k{i:02}": i for i in range(30)}
    attrs |= {"long": "y" * 1000, "flag": True, "ratio": 0.5, "big": 2**60, "raw": b"\x00\x01"}
    event = sent(translate_traces(req.traces({"a": [req.span(NOW, attrs=attrs)]})))["a"][0]
    assert list(event["payload"]["attributes"]) == [f"k{i:02}" for i in range(20)]

    few = {"long": "y" * 1000, "flag": True, "ratio": 0.5, "big": 2**60, "raw": b"\x00\x01"}
    event = sent(translate_traces(req.traces({"a": [req.span(NOW, attrs=few)]})))["a"][0]
    assert event["payload"]["attributes"] == {
        "long": "y" * 255 + "…", "flag": True, "ratio": 0.5, "big": str(2**60), "raw": "AAE=",
    }  # fmt: skip

    small = otlp.Bounds.of(Settings(max_payload_bytes=300), NOW)
    span = req.span(NOW, error=True, message="m" * 5000, attrs=few)
    payload = sent(translate_traces(req.traces({"a": [span]}), bounds=small))["a"][0]["payload"]
    assert "attributes" not in payload and payload["error"].startswith("mmm")
    assert len(orjson.dumps(payload)) <= 300

    none = otlp.Bounds.of(Settings(max_payload_bytes=0), NOW)
    assert "payload" not in sent(translate_traces(req.traces({"a": [span]}), bounds=none))["a"][0]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"trace_id": b""}, "invalid trace or span id"),
        ({"trace_id": bytes(16)}, "invalid trace or span id"),
        ({"span_id": b"\x01\x02"}, "invalid trace or span id"),
        ({"end_time_unix_nano": 0, "start_time_unix_nano": 0}, "span without an end time"),
        ({"start_time_unix_nano": req.ns(NOW) + 1}, "span ends before it starts"),
        ({"start_time_unix_nano": 1}, "span lasts more than"),
        ({"end_time_unix_nano": req.ns(NOW - timedelta(days=2)),
          "start_time_unix_nano": req.ns(NOW - timedelta(days=2))},
         "dated more than 86400 s before now"),
        ({"end_time_unix_nano": req.ns(NOW + timedelta(hours=1)),
          "start_time_unix_nano": req.ns(NOW)}, "dated more than 300 s after now"),
    ],
)  # fmt: skip
def test_a_span_ingest_would_refuse_is_refused_alone_with_its_reason(
    change: dict[str, Any], why: str
) -> None:
    bad = req.span(NOW)
    for name, v in change.items():
        setattr(bad, name, v)
    translation = translate_traces(req.traces({"orders-etl": [req.span(NOW), bad]}))

    assert len(translation.events["orders-etl"]) == 1
    assert translation.rejected == 1
    assert f"service 'orders-etl': {why}" in translation.message()


def test_resources_without_a_usable_service_name_are_refused_and_counted() -> None:
    request = req.traces({
        None: [req.span(NOW)] * 2, "unknown_service": [req.span(NOW)],
        "unknown_service:python3": [req.span(NOW)], "kept": [req.span(NOW)],
    })  # fmt: skip
    request.resource_spans[-1].resource.attributes.extend(req.attributes({"lso.run_id": "r" * 129}))
    request.resource_spans.add(resource=req.resource("fine"))  # no spans: nothing to count
    translation = translate_traces(request)

    assert translation.events == {}
    assert translation.rejected == 5
    message = translation.message()
    assert message.startswith("5 spans rejected: no service.name in the resource (2 spans)")
    assert "placeholder 'unknown_service': set OTEL_SERVICE_NAME (1 spans)" in message
    assert "service 'kept': resource attribute lso.run_id is longer than 128" in message


def test_the_same_request_reads_alike_in_protobuf_and_json() -> None:
    spans = [req.span(NOW, i, f"step-{i}", error=i == 2, message="boom", trace_id=TRACE,
                      attrs={"n": i, "s": "x", "f": 1.5, "b": False, "lso.stage": "s1"})
             for i in range(5)]  # fmt: skip
    request = req.traces({"a": spans[:3], "b": spans[3:]})
    assert translate_traces(request, as_json=True) == translate_traces(request)


def test_json_as_the_spec_writes_it_by_hand() -> None:
    end = req.ns(NOW)
    body = orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": [{
            "traceId": TRACE.hex().upper(), "spanId": SPAN.hex(), "parentSpanId": "",
            "name": "checkout", "kind": 2, "startTimeUnixNano": str(end - 3_000_000),
            "endTimeUnixNano": end, "status": {"code": "STATUS_CODE_ERROR", "message": "declined"},
            "attributes": [{"key": "n", "value": {"intValue": "7"}},
                           {"key": "d", "value": {"doubleValue": "NaN"}},
                           {"key": "a", "value": {"arrayValue": {"values": [
                               {"stringValue": "x"}, {"boolValue": True}]}}},
                           {"key": "m", "value": {"kvlistValue": {"values": [
                               {"key": "k", "value": {"intValue": 1}}]}}},
                           {"key": "future", "value": {"someNewValue": 1}}],
            "futureField": {"ignored": True},
        }]}],
    }]})  # fmt: skip
    (event,) = sent(otlp.traces(body, True, BOUNDS))["shop"]

    assert (event["event_type"], event["status"], event["latency_ms"]) == ("checkout", "error", 3.0)
    assert event["event_id"] == f"{TRACE.hex()}:{SPAN.hex()}"
    assert event["payload"] == {
        "kind": "server",
        "attributes": {"n": 7, "d": "nan", "a": '["x",true]', "m": '{"k":1}', "future": None},
        "error": "declined",
    }


@pytest.mark.parametrize(
    "body",
    [
        b"not json", b"[]", b'{"resourceSpans": {}}', b'{"resourceSpans": [1]}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 3}]}]}]}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"endTimeUnixNano": "soon"}]}]}]}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "SPAN_KIND_NEW"}]}]}]}',
        b'{"resourceSpans": [{"resource": {"attributes": [{"key": "k", "value": 3}]}}]}',
    ],
)  # fmt: skip
def test_a_json_body_that_is_no_otlp_request_is_undecodable(body: bytes) -> None:
    with pytest.raises(otlp_decode.Undecodable):
        otlp.traces(body, True, BOUNDS)


def test_a_protobuf_body_that_is_no_otlp_request_is_undecodable() -> None:
    for body in (
        b"\xff\xff\xff",
        gzip.compress(req.traces({"a": [req.span(NOW)]}).SerializeToString()),
    ):
        with pytest.raises(otlp_decode.Undecodable):
            otlp.traces(body, False, BOUNDS)
    assert otlp.traces(b"", False, BOUNDS).events == {}  # an empty request is a valid one


def test_a_log_record_is_an_error_from_severity_error_on_with_latency_0() -> None:
    records = [req.log(NOW, "starting", 9), req.log(NOW, "slow disk", 13),
               req.log(NOW, "load failed: disk full", 17, text="ERROR", trace_id=TRACE),
               req.log(NOW, "fatal", 21), req.log(NOW, "by text", 0, text="Critical"),
               req.log(NOW, "unspecified", 0)]  # fmt: skip
    translation = otlp.logs(req.logs({"orders-etl": records}).SerializeToString(), False, BOUNDS)
    events = sent(translation)["orders-etl"]

    assert [e["status"] for e in events] == ["ok", "ok", "error", "error", "error", "ok"]
    assert {e["latency_ms"] for e in events} == {0}
    assert {e["event_type"] for e in events} == {"etl"}  # the scope: the logger's name
    assert events[0]["payload"] == {"severity": "INFO", "body": "starting"}
    assert events[2]["payload"] == {"severity": "ERROR", "error": "load failed: disk full"}
    assert events[2]["run_id"] == TRACE.hex() and "run_id" not in events[0]
    assert all(e["event_id"].startswith("log:") for e in events)
    assert len({e["event_id"] for e in events}) == 6


def test_a_log_record_has_the_same_id_when_sent_again_and_another_when_it_differs() -> None:
    def ids(records: list[Any]) -> list[str]:
        body = req.logs({"a": records}).SerializeToString()
        return [e["event_id"] for e in sent(otlp.logs(body, False, BOUNDS))["a"]]

    assert ids([req.log(NOW, "x")]) == ids([req.log(NOW, "x")])
    assert ids([req.log(NOW, "x")]) != ids([req.log(NOW, "y")])
    assert ids([req.log(NOW, "x")]) != ids([req.log(NOW + timedelta(microseconds=1), "x")])


def test_a_log_records_type_is_its_event_name_else_its_scope_else_log() -> None:
    named = req.log(NOW)
    named.event_name = "orders.loaded"
    body = req.logs({"a": [named, req.log(NOW)]}, scope="").SerializeToString()
    events = sent(otlp.logs(body, False, BOUNDS))["a"]
    assert [e["event_type"] for e in events] == ["orders.loaded", "log"]


def test_logs_read_alike_in_json_and_refuse_a_record_without_time() -> None:
    records = [req.log(NOW, "a", 17, attrs={"lso.stage": "load", "rows": 3}), req.log(NOW)]
    records[1].time_unix_nano = 0
    records[1].observed_time_unix_nano = req.ns(NOW)  # the time it was seen stands in
    untimed = req.log(NOW)
    untimed.time_unix_nano = 0
    request = req.logs({"a": [*records, untimed]})
    from_pb = otlp.logs(request.SerializeToString(), False, BOUNDS)
    from_json = otlp.logs(req.as_json(request), True, BOUNDS)

    strip = [{k: v for k, v in e.items() if k != "event_id"} for e in sent(from_pb)["a"]]
    assert strip == [{k: v for k, v in e.items() if k != "event_id"} for e in sent(from_json)["a"]]
    assert sent(from_pb)["a"][0]["stage"] == "load"
    assert from_pb.rejected == from_json.rejected == 1
    assert "log record without a time (1 log records)" in from_pb.message()


def test_the_answers_are_the_specifications_messages() -> None:
    full = otlp.Translation("spans")
    assert (
        otlp_answers.trace_response(full, False) == b""
        and otlp_answers.trace_response(full, True) == b"{}"
    )

    partial = otlp.Translation("spans")
    partial.refuse("span ends before it starts", 3, service="a")
    answer = ExportTraceServiceResponse.FromString(otlp_answers.trace_response(partial, False))
    assert answer.partial_success.rejected_spans == 3
    assert answer.partial_success.error_message == (
        "3 spans rejected: service 'a': span ends before it starts (3 spans)"
    )
    assert orjson.loads(otlp_answers.trace_response(partial, True)) == {"partialSuccess": {
        "rejectedSpans": "3", "errorMessage": answer.partial_success.error_message}}  # fmt: skip

    records = otlp.Translation("log records")
    records.refuse("log record without a time", 2)
    logs_answer = ExportLogsServiceResponse.FromString(otlp_answers.logs_response(records, False))
    assert logs_answer.partial_success.rejected_log_records == 2
    assert (
        orjson.loads(otlp_answers.logs_response(records, True))["partialSuccess"][
            "rejectedLogRecords"
        ]
        == "2"
    )

    status = RpcStatus.FromString(
        otlp_answers.status(3, "not a protobuf request " + "é" * 100, False)
    )
    assert (status.code, status.message) == (3, "not a protobuf request " + "é" * 100)
    assert orjson.loads(otlp_answers.status(14, "later", True)) == {"code": 14, "message": "later"}


def test_the_message_names_the_most_frequent_reasons_first_and_stays_bounded() -> None:
    translation = otlp.Translation("spans")
    for i in range(30):
        translation.refuse(f"reason {i}", i + 1)
    message = translation.message()
    assert message.startswith("465 spans rejected: reason 29 (30 spans); reason 28 (29 spans)")
    assert message.endswith("and 20 more reasons") and len(message) < 400
