"""Property tests of batch validation (pure, no store): every valid batch becomes exactly its
compact rows, and any single bad field rejects the whole batch naming that event and field."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.ingest.validate import MAX_ERRORS, BatchValidator
from shared.model.codec import Row, decode_batch, encode_batch
from shared.settings import Settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VALIDATOR = BatchValidator(Settings())


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
timestamps = st.builds(
    lambda age_ms, tz: (NOW - timedelta(milliseconds=age_ms)).astimezone(tz),
    st.integers(-300_000, 86_400_000),  # LSO_MAX_FUTURE_SKEW_S ahead to LSO_MAX_EVENT_AGE_S back
    offsets,
)
# Identifiers: any text but control and formatting characters (refused, tested below).
identifiers = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Cn"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
events = st.fixed_dictionaries(
    {
        "ts": timestamps,
        "event_type": st.text(identifiers, min_size=1, max_size=64),
        "status": st.sampled_from(["ok", "error"]),
        "latency_ms": st.floats(0, 1e9, allow_nan=False),
    },
    optional={
        "run_id": st.text(identifiers, max_size=128),
        "stage": st.text(identifiers, max_size=64),
        "payload": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
        "event_id": st.text(identifiers, min_size=1, max_size=128),
        "system_id": st.just(7),
    },
)


def body(batch: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"events": batch})


@given(st.lists(events, min_size=1, max_size=20))
def test_a_valid_batch_round_trips_into_its_stream_entry(batch: list[dict[str, Any]]) -> None:
    rows = VALIDATOR.validate(7, body(batch), NOW)
    decoded = [Row._make(e) for e in decode_batch(encode_batch(7, rows)).events]
    assert len(decoded) == len(batch)
    for sent, got in zip(batch, decoded, strict=True):
        assert got.ts_ms == (sent["ts"] - EPOCH) // timedelta(milliseconds=1)
        assert bool(got.error) == (sent["status"] == "error")
        assert got.latency_ms == sent["latency_ms"]
        assert (got.event_type, got.stage, got.run_id, got.event_id) == (
            sent["event_type"],
            sent.get("stage"),
            sent.get("run_id"),
            sent.get("event_id"),
        )
        assert got.payload == sent.get("payload")


BAD_VALUES = {
    "ts": st.sampled_from(
        ["2026-11-28T12:00:00", "not a time", 5, None, "1764579600", "2026-11-26T11:59:59Z"]
    ),
    "event_type": st.sampled_from(["", "x" * 65, 3, None, "a\x00b", "load\u202e", "x\u200b"]),
    "status": st.text().filter(lambda s: s not in ("ok", "error")),
    "latency_ms": st.sampled_from([-1, -1e-9, "1", None, 1e11]),
    "run_id": st.sampled_from(["r" * 129, 1, [], "r\x1b[31m"]),
    "stage": st.sampled_from(["s" * 65, 2, "\x07", "a\u2028b"]),
    "payload": st.sampled_from([[], "x", 1, {"x": "y" * 9000}]),
    "system_id": st.sampled_from([8, "7", 7.5]),
    "event_id": st.sampled_from(["", "e" * 129, 1]),
}


@given(
    st.lists(events, min_size=1, max_size=10),
    st.data(),
    st.sampled_from(sorted(BAD_VALUES)),
)
def test_one_bad_field_rejects_the_batch_and_names_it(
    batch: list[dict[str, Any]], data: st.DataObject, field: str
) -> None:
    index = data.draw(st.integers(0, len(batch) - 1))
    batch[index] = {**batch[index], field: data.draw(BAD_VALUES[field])}
    with pytest.raises(InvalidInput) as caught:
        VALIDATOR.validate(7, body(batch), NOW)
    locs = [tuple(e["loc"][:4]) for e in caught.value.errors()]
    assert ("body", "events", index, field) in locs


def test_an_event_older_than_lso_keeps_is_refused_naming_the_oldest_ts_accepted() -> None:
    old = (NOW - timedelta(days=2)).isoformat()
    event = {"ts": old, "event_type": "load", "status": "ok", "latency_ms": 1}
    with pytest.raises(InvalidInput) as caught:
        VALIDATOR.validate(7, body([event]), NOW)
    (error,) = caught.value.errors()
    assert error["loc"] == ("body", "events", 0, "ts")
    assert "2026-11-27T12:00:00Z" in error["msg"] and "LSO_MAX_EVENT_AGE_S" in error["msg"]


def test_a_future_ts_is_refused_naming_its_limit() -> None:
    soon = (NOW + timedelta(minutes=10)).isoformat()
    event = {"ts": soon, "event_type": "load", "status": "ok", "latency_ms": 1}
    with pytest.raises(InvalidInput) as caught:
        VALIDATOR.validate(7, body([event]), NOW)
    assert "LSO_MAX_FUTURE_SKEW_S=300" in caught.value.errors()[0]["msg"]


def test_errors_are_capped_and_validation_stops_early() -> None:
    wrong = {"ts": 1, "event_type": 2, "status": 3, "latency_ms": "x", "stage": 4, "run_id": 5}
    with pytest.raises(InvalidInput) as caught:
        VALIDATOR.validate(7, body([wrong] * 5000), NOW)
    assert len(caught.value.errors()) == MAX_ERRORS
    assert not caught.value.complete and caught.value.events == 5000
    few = [wrong, {"ts": NOW.isoformat(), "event_type": "ok", "status": "ok", "latency_ms": 1}]
    with pytest.raises(InvalidInput) as caught:
        VALIDATOR.validate(7, body(few), NOW)
    assert caught.value.complete and len(caught.value.errors()) < MAX_ERRORS
