"""The common case of ingest validation without pydantic: a plain, valid batch straight to rows.

`compact_rows` accepts only bodies that the pydantic model (shared/model/events.py) and the
checks of `BatchValidator.validate` accept too, and returns the same rows; for anything else — an
error, or a form it does not try to judge (another timestamp spelling, more than 6 fraction
digits, a field the model ignores, an integer beyond 64 bits in a payload) — it returns None and
the caller validates with pydantic, which names every problem. A property test checks that
equivalence on generated bodies.

The body is decoded and its schema judged in one call of compiled code (msgspec, with the Structs
of shared/ingest/fast_structs.py); what msgspec cannot judge exactly like pydantic is checked here
over the whole batch at once, not event by event: the timestamps' spelling (one regex over them
all), their values, the accepted range, control characters in identifiers (only when the body
could hold one), the system id, and each payload's size and depth.

Why: pydantic builds a model object per event and the rows are then built from those objects;
for a 100-event batch that was ~600 µs of the ~1 ms an ingest request cost, and per-event checks
in Python after orjson were still most of what was left.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson

from shared.ingest.fast_structs import TS_PATTERN, Event, batch_decoder
from shared.model.events import MAX_PAYLOAD_DEPTH, UNSAFE_CHARS, payload_depth

# Every timestamp of a batch, each followed by a newline, in one match (one call, not one a ts).
_ALL_TS = re.compile(f"(?:{TS_PATTERN}\n)*")
# A body that could hold a control or formatting character in a string: a JSON escape that can
# spell one (\b \f \n \r \t \uXXXX), a raw DEL, or the UTF-8 of C1 controls, zero-width and bidi
# characters, separators and the BOM (see UNSAFE_CHARS).
_MAYBE_UNSAFE = re.compile(
    rb"\\[bfnrtu]|\x7f|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa0-\xaf]|\xef\xbb\xbf"
)
# A payload nesting deeper than the limit has an opening and a closing bracket per level.
_SHALLOW_BYTES = 2 * (MAX_PAYLOAD_DEPTH + 1)
_IS_ERROR = {"ok": 0, "error": 1}
_DATETIMES = list[datetime]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def compact_rows(
    body: bytes,
    system_id: int,
    latest_ms: int,
    max_events: int,
    max_payload_bytes: int,
    earliest_ms: int = 0,
) -> list[list[Any]] | None:
    """Rows `[ts_ms, is_error, latency_ms, type, stage, run_id, event_id, payload]`, or None."""
    try:
        events: list[Event] = batch_decoder(max_events).decode(body).events
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    ts_ms = _epoch_ms([e.ts for e in events])
    if ts_ms is None or min(ts_ms) < earliest_ms or max(ts_ms) > latest_ms:
        return None
    # For every body: a look for the bytes `"system_id"` first would miss a key spelt with escapes.
    if not {e.system_id for e in events} <= {None, system_id}:
        return None
    if _maybe_unsafe(body) and _unsafe_identifier(events):
        return None
    payloads = [e.payload for e in events if e.payload is not None]
    if payloads and not _storable(payloads, max_payload_bytes):
        return None
    is_error = _IS_ERROR
    return [[ms, is_error[e.status], e.latency_ms, e.event_type, e.stage, e.run_id, e.event_id,
             e.payload] for ms, e in zip(ts_ms, events, strict=True)]  # fmt: skip


def _epoch_ms(stamps: list[str]) -> list[int] | None:
    """Milliseconds since the epoch of each timestamp, or None unless all have the one shape
    (TS_PATTERN) and are valid dates and times."""
    if not _ALL_TS.fullmatch("\n".join(stamps) + "\n"):
        return None
    try:
        # In this shape msgspec reads a timestamp as pydantic does (a test holds it to that).
        parsed = msgspec.convert(stamps, _DATETIMES)
    except msgspec.ValidationError:  # e.g. month 13
        return None
    epoch, ms = _EPOCH, _MS
    return [(at - epoch) // ms for at in parsed]  # exact integer arithmetic


def _maybe_unsafe(body: bytes) -> bool:
    # A scan of the whole body by the regex costs more than the rest of the checks: plain ASCII
    # without escapes or DEL (most bodies) is answered by the bytes methods, which are fast.
    if body.isascii() and b"\\" not in body and b"\x7f" not in body:
        return False
    return _MAYBE_UNSAFE.search(body) is not None


def _unsafe_identifier(events: list[Event]) -> bool:
    # One search over all identifiers: UNSAFE_CHARS is a character class.
    texts = [t for e in events for t in (e.event_type, e.stage, e.run_id, e.event_id) if t]
    return UNSAFE_CHARS.search("".join(texts)) is not None


def _storable(payloads: list[dict[str, Any]], max_payload_bytes: int) -> bool:
    """Whether pydantic's path takes the payloads as they are: the compact JSON of each (orjson,
    as the stream stores it) within the size limit, and its nesting within MAX_PAYLOAD_DEPTH."""
    dumps = orjson.dumps
    try:
        sizes = [len(dumps(p)) for p in payloads]
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: pydantic names the problem
        return False
    if max(sizes) > max_payload_bytes:
        return False
    return max(sizes) < _SHALLOW_BYTES or all(
        payload_depth(p) <= MAX_PAYLOAD_DEPTH
        for p, size in zip(payloads, sizes, strict=True)
        if size >= _SHALLOW_BYTES
    )
