"""The wire format of one accepted batch in the ingest stream, shared by the API and the workers.

One stream entry per batch keeps the store's work per event tiny. Fields:
`v` format version, `s` system id, `n` event count, `e` the events as a JSON array of compact rows
`[ts_ms, is_error, latency_ms, event_type, stage, run_id, event_id, payload]` (absent optional
values are null), and `k`, the client's `Idempotency-Key`, only when it sent one.
"""

from dataclasses import dataclass
from typing import Any

import orjson

FORMAT_VERSION = b"1"


class UndecodableEntry(ValueError):
    """The stream entry cannot be understood: it is poison and goes to the dead-letter stream."""


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a setattr call per field, per event
class CompactEvent:
    ts_ms: int
    is_error: bool
    latency_ms: float
    event_type: str
    stage: str | None
    run_id: str | None
    event_id: str | None
    payload: dict[str, Any] | None

    def row(self) -> list[Any]:
        return [
            self.ts_ms,
            1 if self.is_error else 0,
            self.latency_ms,
            self.event_type,
            self.stage,
            self.run_id,
            self.event_id,
            self.payload,
        ]


def encode_batch(
    system_id: int, rows: list[list[Any]], idempotency_key: str | None = None
) -> dict[bytes, bytes]:
    """Stream entry fields for a validated batch of compact rows."""
    fields = {
        b"v": FORMAT_VERSION,
        b"s": str(system_id).encode(),
        b"n": str(len(rows)).encode(),
        b"e": orjson.dumps(rows),
    }
    if idempotency_key is not None:
        fields[b"k"] = idempotency_key.encode()
    return fields


@dataclass(frozen=True, slots=True)
class Batch:
    system_id: int
    events: list[CompactEvent]
    idempotency_key: str | None = None


def decode_batch(fields: dict[bytes, bytes]) -> Batch:
    """Parse stream entry fields; raises UndecodableEntry for anything malformed."""
    try:
        if fields.get(b"v") != FORMAT_VERSION:
            raise UndecodableEntry(f"unknown format version {fields.get(b'v')!r}")
        system_id = int(fields[b"s"])
        rows = orjson.loads(fields[b"e"])
        events = [
            CompactEvent(
                ts_ms=int(r[0]),
                is_error=bool(r[1]),
                latency_ms=float(r[2]),
                event_type=str(r[3]),
                stage=r[4],
                run_id=r[5],
                event_id=r[6],
                payload=r[7],
            )
            for r in rows
        ]
        if len(events) != int(fields[b"n"]):
            raise UndecodableEntry("event count does not match the `n` field")
        key = fields.get(b"k")
        idempotency_key = None if key is None else key.decode()
    except UndecodableEntry:
        raise
    except (KeyError, ValueError, TypeError, IndexError, orjson.JSONDecodeError) as exc:
        raise UndecodableEntry(f"{type(exc).__name__}: {exc}") from exc
    return Batch(system_id=system_id, events=events, idempotency_key=idempotency_key)
