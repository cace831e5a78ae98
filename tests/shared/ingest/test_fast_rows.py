"""compact_rows (the fast path of ingest validation) agrees with the pydantic model everywhere
it answers, and answers for plain valid batches."""

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


def pydantic_rows(body: bytes) -> list[list[Any]] | None:
    try:
        return VALIDATOR.validate_with_pydantic(7, body, LATEST_MS)
    except InvalidInput:
        return None


@settings(max_examples=600, deadline=None)
@given(bodies)
def test_the_fast_path_answers_only_what_pydantic_accepts_and_the_same(doc: Any) -> None:
    body = json.dumps(doc).encode()  # orjson refuses integers beyond 64 bits; clients may not
    fast = compact_rows(body, 7, LATEST_MS, SETTINGS.max_batch_events, SETTINGS.max_payload_bytes)
    if fast is not None:
        assert fast == pydantic_rows(body)


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
