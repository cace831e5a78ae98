"""One event as LSO's ingest takes it (the server's docs/api.md, "An event"), checked and serialized
when it is queued: a bad event then fails at its call site, instead of making the server refuse the
whole batch it would travel in, and the caller may change its payload afterwards."""

import json
import math
import re
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["ok", "error"]
STATUSES = ("ok", "error")
# Run markers: they open and close a run on the server and are not counted in its health.
RUN_START = "run_start"
RUN_END = "run_end"
# The server's lengths and forbidden characters for identifiers (control characters, and the
# invisible formatting ones: zero-width, bidi overrides and isolates, separators, BOM).
MAX_LENGTHS = {"event_type": 64, "run_id": 128, "stage": 64, "event_id": 128}
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def format_ts(when: datetime | float | None = None) -> str:
    """RFC 3339 in UTC with milliseconds ("2026-12-01T09:00:00.123Z"); `when` is an aware
    datetime, seconds since the epoch, or None for now."""
    if when is None:
        when = time.time()
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("ts must be an aware datetime (with a zone)")
        moment = when.astimezone(UTC)
    else:
        moment = datetime.fromtimestamp(when, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_event_id() -> str:
    """A fresh id: the server counts an event once per id, even when it comes in two batches."""
    return uuid.uuid4().hex


def check_identifier(field: str, value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, not {type(value).__name__}")
    limit = MAX_LENGTHS[field]
    if not 1 <= len(value) <= limit:
        raise ValueError(f"{field} must be 1 to {limit} characters, got {len(value)}")
    found = UNSAFE_CHARS.search(value)
    if found:
        raise ValueError(
            f"{field} contains the control or formatting character U+{ord(found[0]):04X}"
        )
    return value


def encode(
    event_type: str,
    *,
    status: Status = "ok",
    latency_ms: float = 0.0,
    ts: datetime | float | None = None,
    run_id: str | None = None,
    stage: str | None = None,
    payload: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    max_payload_bytes: int = 8192,
) -> bytes:
    """The event as the JSON bytes of one element of a batch's `events`.

    Raises ValueError or TypeError for anything the server would refuse with a 422."""
    if status not in STATUSES:
        raise ValueError(f"status must be 'ok' or 'error', not {status!r}")
    if isinstance(latency_ms, bool) or not isinstance(latency_ms, int | float):
        raise TypeError(f"latency_ms must be a number, not {type(latency_ms).__name__}")
    if not math.isfinite(latency_ms) or latency_ms < 0:
        raise ValueError(f"latency_ms must be a finite number >= 0, not {latency_ms!r}")
    event: dict[str, Any] = {
        "ts": format_ts(ts),
        "event_type": check_identifier("event_type", event_type),
        "status": status,
        "latency_ms": latency_ms,
        "event_id": check_identifier("event_id", event_id or new_event_id()),
    }
    if run_id is not None:
        event["run_id"] = check_identifier("run_id", run_id)
    if stage is not None:
        event["stage"] = check_identifier("stage", stage)
    encoded = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    if payload is None:
        return encoded
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a mapping, not {type(payload).__name__}")
    # Serialized now: a payload the caller changes later is sent as it was at this call.
    body = json.dumps(dict(payload), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    payload_bytes = body.encode()
    if len(payload_bytes) > max_payload_bytes:
        raise ValueError(
            f"payload is {len(payload_bytes)} bytes serialized, over {max_payload_bytes}"
        )
    return encoded[:-1] + b',"payload":' + payload_bytes + b"}"
