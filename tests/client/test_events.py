"""An event is checked and serialized when it is queued (lso_client/events.py)."""

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from lso_client.events import encode, format_ts


def test_an_event_has_every_field_lso_reads() -> None:
    event = json.loads(
        encode("load", status="error", latency_ms=12.5, ts=1_764_579_600.1234, run_id="r1",
               stage="load", payload={"table": "orders"}, event_id="e1")
    )  # fmt: skip
    assert event == {
        "ts": "2025-12-01T09:00:00.123Z", "event_type": "load", "status": "error",
        "latency_ms": 12.5, "event_id": "e1", "run_id": "r1", "stage": "load",
        "payload": {"table": "orders"},
    }  # fmt: skip


def test_every_event_gets_a_fresh_event_id() -> None:
    ids = {json.loads(encode("load"))["event_id"] for _ in range(100)}
    assert len(ids) == 100


def test_timestamps_are_rfc3339_in_utc_with_milliseconds() -> None:
    paris = timezone(timedelta(hours=1))
    assert format_ts(datetime(2026, 12, 1, 10, 0, 0, 250_999, paris)) == "2026-12-01T09:00:00.250Z"
    assert format_ts(datetime(2026, 12, 1, tzinfo=UTC)) == "2026-12-01T00:00:00.000Z"
    with pytest.raises(ValueError, match="aware"):
        format_ts(datetime(2026, 12, 1))


def test_the_payload_is_copied_when_the_event_is_queued() -> None:
    payload = {"rows": 1}
    encoded = encode("load", payload=payload)
    payload["rows"] = 2
    assert json.loads(encoded)["payload"] == {"rows": 1}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "warn"}, "status"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": math.nan}, "latency_ms"),
        ({"latency_ms": "12"}, "latency_ms"),
        ({"run_id": "r" * 129}, "run_id"),
        ({"stage": ""}, "stage"),
        ({"stage": "ex\u200btract"}, "U\\+200B"),
        ({"payload": {"x": "y" * 9000}}, "payload"),
        ({"payload": {"x": math.inf}}, "Out of range"),
        ({"payload": ["not", "an", "object"]}, "payload"),
    ],
)
def test_an_event_lso_would_refuse_is_refused_at_once(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        encode("load", **fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="event_type"):
        encode("e" * 65)
