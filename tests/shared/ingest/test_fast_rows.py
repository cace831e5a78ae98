"""compact_rows (the fast path of ingest validation, msgspec) agrees with the pydantic model
everywhere it answers — the same rows, value for value and type for type, and the same bytes once
encoded — never accepts what pydantic refuses, and answers for plain valid batches."""

import datetime
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.ingest.fast_rows import compact_rows
from shared.ingest.validate import BatchValidator
from shared.settings import Settings

LATEST_MS = 1_800_000_000_000
SETTINGS = Settings(max_payload_bytes=200, max_batch_events=5)


VALIDATOR = BatchValidator(SETTINGS)

timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-11-28T03:20:16.565Z",
            "2026-11-28T03:20:16Z",
            "2026-11-28T03:20:16.1234567Z",
            "2026-11-28 03:20:16Z",
            "2026-11-28T03:20:16",
            "2026-13-01T00:00:00Z",
            "20261128T032016Z",
            "2027-01-15T08:00:00+01:00",
            "0001-01-01T00:00:00+01:00",
            "2026-11-28T03:20:16.565z",
        ]
    ),  # fmt: skip
    st.text(max_size=30),
    st.integers(),
)
texts = st.one_of(st.none(), st.text(max_size=70), st.integers(), st.booleans())
events = st.fixed_dictionaries(
    {},
    optional={
        "ts": timestamps,
        "event_type": texts,
        "status": st.sampled_from(["ok", "error", "warn", None, 1]),
        "latency_ms": st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(-5, 2 * 10**10),
            st.booleans(),
            st.text(max_size=3),
        ),  # fmt: skip
        "stage": texts,
        "run_id": st.one_of(texts, st.text(min_size=120, max_size=140)),
        "event_id": texts,
        "system_id": st.one_of(st.none(), st.just(7), st.integers(), st.booleans()),
        "payload": st.one_of(
            st.none(), st.dictionaries(st.text(max_size=5), st.integers(), max_size=30), st.text()
        ),
        "extra": st.integers(),
    },
)
small_text = st.text(max_size=10)
valid_events = st.fixed_dictionaries(
    {
        "ts": st.datetimes(max_value=datetime.datetime(2026, 12, 31), timezones=st.timezones()).map(
            lambda d: d.isoformat()
        ),
        "event_type": st.text(min_size=1, max_size=64),
        "status": st.sampled_from(["ok", "error"]),
        "latency_ms": st.one_of(st.floats(0, 1e10), st.integers(0, 10**10)),
    },
    optional={
        "stage": st.one_of(st.none(), small_text),
        "run_id": st.one_of(st.none(), small_text),
        "event_id": st.one_of(st.none(), st.text(min_size=1, max_size=10)),
        "system_id": st.one_of(st.none(), st.just(7)),
        "payload": st.one_of(st.none(), st.dictionaries(small_text, st.integers(), max_size=5)),
    },
)
# Mostly valid events (the fast path answers), with a bad one mixed in now and then.
mixed = st.one_of(valid_events, valid_events, valid_events, events)
bodies = st.one_of(
    st.lists(valid_events, min_size=1, max_size=7).map(lambda evs: {"events": evs}),
    st.lists(mixed, max_size=7).map(lambda evs: {"events": evs}),
    st.lists(events, max_size=2).map(lambda evs: {"events": evs, "more": 1}),
    st.just({"events": {}}),
)


def pydantic_rows(body: bytes, earliest_ms: int = 0) -> list[list[Any]] | None:
    try:
        return VALIDATOR.validate_with_pydantic(7, body, LATEST_MS, earliest_ms)
    except InvalidInput:
        return None


def fast_rows(body: bytes, earliest_ms: int = 0) -> list[list[Any]] | None:
    return compact_rows(
        body, 7, LATEST_MS, SETTINGS.max_batch_events, SETTINGS.max_payload_bytes, earliest_ms
    )


def assert_identical(fast: Any, reference: Any) -> None:
    """Equal, of the same types all the way down (1 == 1.0 == True would pass `==`), and the
    same bytes once encoded as the stream stores them (the same key order)."""
    assert type(fast) is type(reference), (fast, reference)
    if isinstance(fast, dict):
        assert list(fast) == list(reference)
        for key in fast:
            assert_identical(fast[key], reference[key])
    elif isinstance(fast, list):
        assert len(fast) == len(reference)
        for a, b in zip(fast, reference, strict=True):
            assert_identical(a, b)
    else:
        assert fast == reference or (fast != fast and reference != reference)
    assert orjson.dumps(fast) == orjson.dumps(reference)


def check(body: bytes, earliest_ms: int = 0) -> list[list[Any]] | None:
    fast = fast_rows(body, earliest_ms)
    if fast is not None:
        reference = pydantic_rows(body, earliest_ms)
        assert reference is not None, "the fast path accepted what pydantic refuses"
        assert_identical(fast, reference)
    return fast


@settings(max_examples=600, deadline=None)
@given(bodies)
def test_the_fast_path_answers_only_what_pydantic_accepts_and_the_same(doc: Any) -> None:
    check(json.dumps(doc).encode())  # orjson refuses integers beyond 64 bits; clients may not


@pytest.mark.parametrize(
    "payload",
    [{"big": 909045935594012449140024037649416192}, {"low": -(2**63) - 1},
     {"deep": [1, {"big": 2**64}]}],
)  # fmt: skip
def test_integers_beyond_64_bits_are_left_to_pydantic(payload: dict[str, Any]) -> None:
    event = {"ts": "2026-11-28T03:20:16Z", "event_type": "load", "status": "ok", "latency_ms": 1,
             "payload": payload}  # fmt: skip
    body = json.dumps({"events": [event]}).encode()
    assert compact_rows(body, 7, LATEST_MS, 5, 200) is None
    assert pydantic_rows(body) is None


def test_integers_within_64_bits_and_long_ids_take_the_fast_path() -> None:
    event = {"ts": "2026-11-28T03:20:16Z", "event_type": "load", "status": "ok", "latency_ms": 1,
             "event_id": "1234567890123456789012345", "payload": {"max": 2**64 - 1}}  # fmt: skip
    body = json.dumps({"events": [event]}).encode()
    fast = compact_rows(body, 7, LATEST_MS, 5, 200)
    assert fast is not None and fast == pydantic_rows(body)


def test_plain_valid_batches_take_the_fast_path() -> None:
    event = {"ts": "2026-11-28T03:20:16.565+01:00", "event_type": "load", "status": "error",
             "latency_ms": 12, "stage": "s", "run_id": "r", "event_id": "e", "system_id": 7,
             "payload": {"rows": 3}}  # fmt: skip
    body = orjson.dumps({"events": [event, {**event, "status": "ok", "latency_ms": 0.5}]})
    fast = compact_rows(body, 7, LATEST_MS, 5, 200)
    assert fast is not None and fast == pydantic_rows(body)
    assert fast[0][:3] == [1_795_832_416_565, 1, 12.0]


class Num(str):
    """A number as the raw JSON text a client may send (json.dumps would write another)."""


class Pairs(list[tuple[str, Any]]):
    """An object as its key/value pairs, so a key may repeat."""


def encode(value: Any, ascii_only: bool, escaped_keys: bool) -> str:
    """JSON text with the spellings json.dumps does not choose: raw numbers, repeated keys,
    keys written with \\u escapes, every non-ASCII character escaped or none."""
    if isinstance(value, Num):
        return str(value)
    if isinstance(value, dict | Pairs):
        items = value if isinstance(value, Pairs) else value.items()
        return "{" + ",".join(
            _key(k, ascii_only, escaped_keys) + ":" + encode(v, ascii_only, escaped_keys)
            for k, v in items
        ) + "}"  # fmt: skip
    if isinstance(value, list):
        return "[" + ",".join(encode(v, ascii_only, escaped_keys) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def _key(key: str, ascii_only: bool, escaped: bool) -> str:
    if escaped and key:
        return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'
    return json.dumps(key, ensure_ascii=ascii_only)


raw_numbers = st.from_regex(
    r"-?(0|[1-9][0-9]{0,21})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True
).map(Num)
tricky_ts = st.one_of(
    st.from_regex(
        r"[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{1,9})?"
        r"([Zz]|[+-][0-2][0-9]:?[0-6][0-9])?",
        fullmatch=True,
    ),
    st.tuples(
        st.datetimes(max_value=datetime.datetime(2026, 12, 31), timezones=st.timezones()),
        st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]),
    ).map(lambda d: d[0].isoformat(timespec=d[1]).replace("+00:00", "Z")),
    st.sampled_from(
        [
            "2026-11-28T23:59:60Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T03:20:16+24:00",
            "2026-11-28T03:20:16-00:00",
            "2026-11-28T03:20:16+23:59",
            "2026-11-28T03:20:16+01:60",
            "2024-02-29T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "0001-01-01T00:30:00+01:00",
            "0000-01-01T00:00:00Z",
            "2026-11-28T03:20:16.9999995Z",
            "2026-11-28T03:20:16+0100",
            "2026-11-28T03:20:16Z\n",
            "2026-11-28T03:20:16Z\n2026-11-28T03:20:16Z",
            "\uff12\uff10\uff12\uff16-11-28T03:20:16Z",
            "2026-11-28T03:20:16.Z",
            "2026-11-28T03:20:16.565+01:00",
        ]
    ),  # fmt: skip
)
# Characters of every kind an identifier check must see: controls (C0, DEL, C1), invisible
# formatting ones, and harmless non-ASCII, quotes and backslashes.
identifier_text = st.text(
    alphabet=st.sampled_from(
        list(
            'ab-_ ."\\/\x00\n\t\x1f\x7f\x85\x9f\xa0é\u200b\u200e\u2028'
            "\u202e\u2060\u2066\ufeff\u3000😀"
        )
    ),  # fmt: skip
    max_size=70,
)
identifiers = st.one_of(st.none(), st.just(""), identifier_text, st.text(max_size=5))
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**66), 2**66),
    st.floats(allow_nan=False, allow_infinity=False),
    raw_numbers,
    st.text(max_size=6),
    identifier_text,
)
json_values = st.recursive(
    json_leaves,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3)
    ),
    max_leaves=12,
)


def nested(depth: int) -> dict[str, Any]:
    inner: Any = 1
    for level in range(depth - 1):
        inner = [inner] if level % 2 else {"n": inner}
    return {"d": inner}


tricky_payloads = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=4), json_values, max_size=5),
    st.integers(62, 66).map(nested),
    st.integers(10, 60).map(lambda n: {"s": "x" * n * 4}),  # about the size limit (200)
    json_values,
)
tricky_events = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(tricky_ts, st.integers()),
        "event_type": st.one_of(identifiers, st.just("load")),
        "status": st.sampled_from(["ok", "error", "OK", None]),
        "latency_ms": st.one_of(raw_numbers, st.floats(0, 1e10), st.booleans()),
        "stage": identifiers,
        "run_id": identifiers,
        "event_id": identifiers,
        "system_id": st.one_of(st.just(7), st.just(8), raw_numbers, st.booleans(), st.none()),
        "payload": tricky_payloads,
        "note": st.one_of(st.integers(), st.integers(190, 210).map(nested)),
    },
)
valid_core = {"ts": "2026-11-28T03:20:16Z", "event_type": "load", "status": "ok", "latency_ms": 1}


@st.composite
def tricky_bodies(draw: st.DrawFn) -> bytes:
    """Bodies of valid events with up to two tricky fields each, and some repeated keys."""
    events = []
    for _ in range(draw(st.integers(1, 6))):
        tricky = draw(tricky_events)
        kept = draw(st.lists(st.sampled_from(sorted(tricky)), max_size=2)) if tricky else []
        event: Any = {**valid_core, **{key: tricky[key] for key in kept}}
        if draw(st.integers(0, 9)) == 0:  # a repeated key: the last one counts
            key = draw(st.sampled_from(sorted(event)))
            event = Pairs([(key, draw(tricky_events).get(key, "x")), *event.items()])
        events.append(event)
    doc: Any = {"events": events}
    if draw(st.integers(0, 19)) == 0:
        doc = Pairs([("events", []), ("events", events)])
    text = encode(doc, draw(st.booleans()), draw(st.integers(0, 9)) == 0)
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=800, deadline=None)
@given(tricky_bodies(), st.sampled_from([0, 1_795_836_016_000]))
def test_tricky_bodies_get_pydantics_rows_or_none(body: bytes, earliest_ms: int) -> None:
    check(body, earliest_ms)


@pytest.mark.parametrize(
    "field",
    [{"event_type": "a\nb"}, {"stage": "a\x7fb"}, {"run_id": "\u200bx"}, {"event_id": "x\x85"},
     {"note": nested(205)}, {"ts": "2026-11-28T03:20:16Z\n"}, {"ts": "2026-11-28T03:20:16+0100"},
     {"ts": "2026-11-28T03:20:16.9999995Z"}, {"system_id": 8}, {"payload": nested(65)}],
)  # fmt: skip
def test_what_pydantic_refuses_is_left_to_it(field: dict[str, Any]) -> None:
    """Each of these once slipped through a fast path, or would have (a control character
    spelt as a JSON escape or a raw DEL, an ignored field nesting past the parser's limit)."""
    body = json.dumps({"events": [{**valid_core, **field}]}).encode()
    assert fast_rows(body) is None
    assert pydantic_rows(body) is None or "ts" in field  # 7 fraction digits: pydantic truncates


def test_a_key_spelt_with_escapes_is_read_as_the_key() -> None:
    body = encode({"events": [{**valid_core, "system_id": 8}]}, True, True).encode()
    assert fast_rows(body) is None and pydantic_rows(body) is None
    body = encode({"events": [{**valid_core, "system_id": 7}]}, True, True).encode()
    assert fast_rows(body) == pydantic_rows(body) is not None


def test_fields_the_model_ignores_are_left_to_pydantic() -> None:
    body = json.dumps({"events": [{**valid_core, "note": 1}]}).encode()
    assert fast_rows(body) is None
    assert pydantic_rows(body) is not None


@settings(max_examples=500, deadline=None)
@given(tricky_ts)
def test_timestamps_are_read_as_pydantic_reads_them_or_left_to_it(ts: str) -> None:
    body = json.dumps({"events": [{**valid_core, "ts": ts}]}).encode()
    check(body, earliest_ms=-(2**62))


def test_the_clients_events_take_the_fast_path() -> None:
    """What lso_client sends (client/lso_client/events.py) is the form the fast path judges."""
    from lso_client.events import encode as encode_event

    when = datetime.datetime(2026, 11, 28, 3, 20, 16, 565000, tzinfo=datetime.UTC)
    events = [
        encode_event("load", latency_ms=12.5, ts=when, run_id="r-1", stage="extract",
                     payload={"rows": 3, "table": "orders", "ratio": 0.25}),
        encode_event("note", status="error", ts=when, payload={"error": 'bad "row"\nline 2'}),
    ]  # fmt: skip
    body = b'{"events":[' + b",".join(events) + b"]}"
    rows = check(body)
    assert rows is not None and [row[:2] for row in rows] == [
        [1_795_836_016_565, 0],
        [1_795_836_016_565, 1],
    ]
