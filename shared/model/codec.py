"""The wire format of one accepted batch in the ingest stream, shared by the API and the workers.

One stream entry per batch keeps the store's work per event tiny. Fields:
`v` format version, `s` system id, `n` event count, `e` the events as a JSON array of compact rows
`[ts_ms, is_error, latency_ms, event_type, stage, run_id, event_id, payload]` (absent optional
values are null), and `k`, the client's `Idempotency-Key`, only when it sent one.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import msgspec
import orjson

from shared.model.events import UNCOUNTED_TYPES
from shared.store.keys import BatchEntry as F

FORMAT_VERSION = b"1"

# Raw events are kept per batch and per *raw chunk* of this much event time: one sorted-set member
# `["<ref>", [row, ...]]` scored by the bucket's start (worker/plan.py writes,
# shared/services/raw_events.py reads). Storing rows once per batch, not once per event, costs
# ~the rows' bytes per event.
RAW_CHUNK_MS = 10_000


class Row(NamedTuple):
    """One event as a stream entry and the raw-event store carry it: the JSON array
    `[ts_ms, error (0 or 1), latency_ms, event_type, stage, run_id, event_id, payload]`.
    Readers name the fields with `Row._make(array)`; writers build the arrays directly (orjson
    does not encode named tuples), and `decode_batch` gives a batch's events as rows."""

    ts_ms: int
    error: int
    latency_ms: float
    event_type: str
    stage: str | None
    run_id: str | None
    event_id: str | None
    payload: dict[str, Any] | None


# A decoded row: what `decode_batch` gives (plain tuples: msgspec builds them in C, ~3x faster
# than a NamedTuple per row) and what a Row is too. The hot loops index it by these positions.
RowTuple = tuple[int, int, float, str, str | None, str | None, str | None, dict[str, Any] | None]
TS: Final = 0
ERROR: Final = 1
LATENCY: Final = 2
TYPE: Final = 3
STAGE: Final = 4
RUN: Final = 5
EVENT_ID: Final = 6
PAYLOAD: Final = 7


class UndecodableEntry(ValueError):
    """The stream entry cannot be understood: it is poison and goes to the dead-letter stream."""


def encode_batch(
    system_id: int, rows: list[list[Any]], idempotency_key: str | None = None
) -> dict[bytes, bytes]:
    """Stream entry fields for a validated batch of compact rows."""
    fields = {
        F.VERSION: FORMAT_VERSION,
        F.SYSTEM_ID: str(system_id).encode(),
        F.EVENTS: str(len(rows)).encode(),
        F.ROWS: orjson.dumps(rows),
    }
    if idempotency_key is not None:
        fields[F.IDEMPOTENCY_KEY] = idempotency_key.encode()
    return fields


@dataclass(frozen=True, slots=True)
class Batch:
    system_id: int
    events: Sequence[RowTuple]  # Rows, or the plain tuples decode_batch gives
    idempotency_key: str | None = None
    rows_json: bytes | None = None  # the `e` field as it came, when decoded from a stream entry
    # Known when decoded (the worker's planning uses them to skip passes over the events):
    ts_range_ms: tuple[int, int] | None = None  # (oldest, newest) event ts
    with_ids: int | None = None  # events carrying an event_id
    uncounted: int | None = None  # run markers and notes (UNCOUNTED_TYPES)


# Rows are decoded and type-checked in compiled code (msgspec): a tuple of exactly these types per
# row, ~10x faster than checking each value in Python; the worker decodes every event.
_ROWS = msgspec.json.Decoder(list[RowTuple])


def decode_batch(fields: dict[bytes, bytes]) -> Batch:
    """Parse stream entry fields; raises UndecodableEntry for anything malformed."""
    try:
        if fields.get(F.VERSION) != FORMAT_VERSION:
            raise UndecodableEntry(f"unknown format version {fields.get(F.VERSION)!r}")
        system_id = int(fields[F.SYSTEM_ID])
        # Strict: the rows are also stored verbatim as raw events (worker/plan.py), so anything
        # the API would not have written makes the entry poison rather than a bad raw event.
        events = _ROWS.decode(fields[F.ROWS])
        if not {e[ERROR] for e in events} <= {0, 1}:
            raise UndecodableEntry("a row's error flag is not 0 or 1")
        if len(events) != int(fields[F.EVENTS]):
            raise UndecodableEntry("event count does not match the `n` field")
        ts = [e[TS] for e in events]
        with_ids = len(events) - [e[EVENT_ID] for e in events].count(None)
        uncounted = sum(map(UNCOUNTED_TYPES.__contains__, [e[TYPE] for e in events]))
        key = fields.get(F.IDEMPOTENCY_KEY)
        idempotency_key = None if key is None else key.decode()
    except UndecodableEntry:
        raise
    except msgspec.ValidationError as exc:
        raise UndecodableEntry(
            f"a row is not [ts, 0|1, latency, type, stage, run, id, payload]: {exc}"
        ) from exc
    except (KeyError, ValueError, TypeError, msgspec.DecodeError) as exc:
        raise UndecodableEntry(f"{type(exc).__name__}: {exc}") from exc
    ts_range = (min(ts), max(ts)) if ts else (2**63, -(2**63))
    return Batch(system_id, events, idempotency_key, fields[F.ROWS], ts_range, with_ids, uncounted)
