"""Property tests of batch validation (pure, no store): every valid batch becomes exactly its
compact rows, and any single bad field rejects the whole batch naming that event and field."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.ingest.validate import BatchValidator
from shared.model.codec import decode_batch, encode_batch
from shared.settings import Settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VALIDATOR = BatchValidator(Settings())


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
timestamps = st.builds(
    lambda age_ms, tz: (NOW - timedelta(milliseconds=age_ms)).astimezone(tz),
    st.integers(-300_000, 90 * 86_400_000),
    offsets,
)
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
        "event_type": st.text(min_size=1, max_size=64),
        "status": st.sampled_from(["ok", "error"]),
        "latency_ms": st.floats(0, 1e9, allow_nan=False),
    },
    optional={
        "run_id": st.text(max_size=128),
        "stage": st.text(max_size=64),
        "payload": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
        "event_id": st.text(min_size=1, max_size=128),
        "system_id": st.just(7),
    },
)


def body(batch: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"events": batch})


@given(st.lists(events, min_size=1, max_size=20))
def test_a_valid_batch_round_trips_into_its_stream_entry(batch: list[dict[str, Any]]) -> None:
    rows = VALIDATOR.validate(7, body(batch), NOW)
    decoded = decode_batch(encode_batch(7, rows)).events
    assert len(decoded) == len(batch)
    for sent, got in zip(batch, decoded, strict=True):
        assert got.ts_ms == (sent["ts"] - EPOCH) // timedelta(milliseconds=1)
        assert got.is_error == (sent["status"] == "error")
        assert got.latency_ms == sent["latency_ms"]
        assert (got.event_type, got.stage, got.run_id, got.event_id) == (
            sent["event_type"],
            sent.get("stage"),
            sent.get("run_id"),
            sent.get("event_id"),
        )
        assert got.payload == sent.get("payload")


BAD_VALUES = {
    "ts": st.sampled_from(["2026-11-28T12:00:00", "not a time", 5, None]),
    "event_type": st.sampled_from(["", "x" * 65, 3, None]),
    "status": st.text().filter(lambda s: s not in ("ok", "error")),
    "latency_ms": st.sampled_from([-1, -1e-9, "1", None, 1e11]),
    "run_id": st.sampled_from(["r" * 129, 1, []]),
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
