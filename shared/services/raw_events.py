"""Recent raw events of a system, newest first, filtered, with cursor pagination.

Raw events are stored per batch and per RAW_CHUNK_MS of event time (shared/model/codec.py): members
`[ref, [row, ...]]` scored by their chunk's start. A scan reads chunks newest first and sorts
each chunk's events by (ts, ref, position), newest first; since every event at one timestamp
lies in one chunk, that order is total and stable across requests.

A cursor is `<ts_ms>.<n>`: continue at events with ts ≤ ts_ms, skipping the n first ones (in that
order) at exactly ts_ms. A scan reads at most MAX_SCANNED raw events per request (filters may
match few); when it stops early it still returns a cursor to continue from (the next chunk).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from shared.errors import BadRequest
from shared.model.codec import RAW_CHUNK_MS, Row
from shared.model.events import RawEvent
from shared.settings import Settings
from shared.store import keys
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions

CHUNK = 200  # members (batches) per ZREVRANGEBYSCORE
MAX_SCANNED = 20_000
END_OF_TIME_MS = 2**62


@dataclass(frozen=True)
class Filters:
    status: str | None
    stage: str | None
    run_id: str | None

    def match(self, row: Row) -> bool:
        if self.status is not None and (self.status == "error") != bool(row.error):
            return False
        if self.stage is not None and row.stage != self.stage:
            return False
        return self.run_id is None or row.run_id == self.run_id


def parse_cursor(cursor: str) -> tuple[int, int]:
    try:
        ts, skip = cursor.split(".")
        return int(ts), int(skip)
    except ValueError:
        raise BadRequest("malformed cursor") from None


class RawEvents:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._partitions = partitions
        self._client = client
        self._settings = settings

    async def page(
        self,
        system_id: int,
        since_ms: int,
        until_ms: int,
        filters: Filters,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[RawEvent], str | None]:
        key = keys.raw_events(await self._partitions.of(system_id), system_id)
        top, skip = parse_cursor(cursor) if cursor else (until_ms, 0)
        rows, next_cursor = await newest_first(
            self._client, key, since_ms, top, skip, limit, filters.match
        )
        return [_event(row) for row in rows], next_cursor


async def newest_first(
    client: AsyncRedis,
    key: str,
    since_ms: int,
    top_ms: int,
    skip: int,
    limit: int,
    match: Callable[[Row], bool] = lambda row: True,
) -> tuple[list[Row], str | None]:
    """Up to `limit` matching rows with since_ms ≤ ts ≤ top_ms, newest first, after skipping
    `skip` matching rows at exactly top_ms; and the cursor to continue from (None: no more)."""
    found: list[Row] = []
    chunk_rows: list[tuple[int, str, int, Row]] = []
    chunk_start: float | None = None
    scanned = offset = 0
    skipped = at_last_ts = 0

    def emit() -> str | None:
        """Move the finished chunk's rows to `found`; a cursor when `limit` is reached."""
        nonlocal skipped, at_last_ts
        chunk_rows.sort(reverse=True)
        for ts, _, _, row in chunk_rows:
            if ts == top_ms and skipped < skip:
                skipped += 1
                continue
            at_last_ts = at_last_ts + 1 if found and found[-1][0] == ts else 1
            found.append(row)
            if len(found) == limit:
                carried = skipped if ts == top_ms else 0
                return f"{ts}.{carried + at_last_ts}"
        chunk_rows.clear()
        return None

    high = top_ms - top_ms % RAW_CHUNK_MS
    low = since_ms - since_ms % RAW_CHUNK_MS
    while True:
        chunk: list[tuple[bytes, float]] = await client.zrevrangebyscore(
            key, high, low, start=offset, num=CHUNK, withscores=True
        )  # type: ignore[assignment]
        offset += len(chunk)
        for member, score in chunk:
            if score != chunk_start:
                if chunk_start is not None:
                    cursor = emit()
                    if cursor is not None:
                        return found, cursor
                    if scanned >= MAX_SCANNED:
                        return found, f"{int(chunk_start) - 1}.0"
                chunk_start = score
            ref, rows = orjson.loads(member)
            scanned += len(rows)
            for position, array in enumerate(rows):
                row = Row._make(array)
                ts = row.ts_ms
                if since_ms <= ts <= top_ms and match(row):
                    chunk_rows.append((ts, ref, position, row))
        if len(chunk) < CHUNK:
            return found, emit()


def _event(row: Row) -> RawEvent:
    return RawEvent(
        ts=datetime.fromtimestamp(row.ts_ms / 1000, UTC),
        event_type=row.event_type,
        status="error" if row.error else "ok",
        latency_ms=row.latency_ms,
        stage=row.stage,
        run_id=row.run_id,
        event_id=row.event_id,
        payload=row.payload,
    )
