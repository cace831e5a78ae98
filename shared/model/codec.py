"""The wire format of one accepted batch in the ingest stream, shared by the API and the workers.

One stream entry per batch keeps the store's work per event tiny. Fields:
`v` format version, `s` system id, `n` event count, `e` the events as a JSON array of compact rows
`[ts_ms, is_error, latency_ms, event_type, stage, run_id, event_id, payload]` (absent optional
values are null), and `k`, the client's `Idempotency-Key`, only when it sent one.
"""

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from shared.model.events import UNCOUNTED_TYPES
from shared.store.keys import BatchEntry as F

FORMAT_VERSION = b"1"
_NUMBERS = (int, float)

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
    events: list[Row]
    idempotency_key: str | None = None
    rows_json: bytes | None = None  # the `e` field as it came, when decoded from a stream entry
    # Known when decoded (the worker's planning uses them to skip passes over the events):
    ts_range_ms: tuple[int, int] | None = None  # (oldest, newest) event ts
    with_ids: int | None = None  # events carrying an event_id
    uncounted: int | None = None  # run markers and notes (UNCOUNTED_TYPES)


def decode_batch(fields: dict[bytes, bytes]) -> Batch:
    """Parse stream entry fields; raises UndecodableEntry for anything malformed."""
    try:
        if fields.get(F.VERSION) != FORMAT_VERSION:
            raise UndecodableEntry(f"unknown format version {fields.get(F.VERSION)!r}")
        system_id = int(fields[F.SYSTEM_ID])
        rows = orjson.loads(fields[F.ROWS])
        # Strict: the rows are also stored verbatim as raw events (worker/plan.py), so anything
        # the API would not have written makes the entry poison rather than a bad raw event.
        events: list[Row] = []
        append = events.append
        oldest, newest, with_ids, uncounted = 2**63, -(2**63), 0, 0
        for r in rows:
            ts, err, latency, kind, stage, run, eid, payload = r  # not 8 values: ValueError
            if not (
                type(ts) is int
                and (err == 0 or err == 1)
                and type(err) is int
                and type(latency) in _NUMBERS
                and type(kind) is str
                and (stage is None or type(stage) is str)
                and (run is None or type(run) is str)
                and (eid is None or type(eid) is str)
                and (payload is None or type(payload) is dict)
            ):
                raise UndecodableEntry(
                    "a row is not [ts, 0|1, latency, type, stage, run, id, payload]"
                )
            append(Row(ts, err, latency, kind, stage, run, eid, payload))
            if ts < oldest:
                oldest = ts
            if ts > newest:
                newest = ts
            if eid is not None:
                with_ids += 1
            if kind in UNCOUNTED_TYPES:
                uncounted += 1
        if len(events) != int(fields[F.EVENTS]):
            raise UndecodableEntry("event count does not match the `n` field")
        key = fields.get(F.IDEMPOTENCY_KEY)
        idempotency_key = None if key is None else key.decode()
    except UndecodableEntry:
        raise
    except (KeyError, ValueError, TypeError, IndexError, orjson.JSONDecodeError) as exc:
        raise UndecodableEntry(f"{type(exc).__name__}: {exc}") from exc
    return Batch(
        system_id, events, idempotency_key, fields[F.ROWS], (oldest, newest), with_ids, uncounted
    )
