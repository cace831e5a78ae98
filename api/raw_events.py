"""Recent raw events of a system, newest first, filtered, with cursor pagination.

A cursor is `<ts_ms>.<n>`: continue at events with ts ≤ ts_ms, skipping the n already returned at
exactly ts_ms. A scan reads at most MAX_SCANNED raw events per request (filters may match few);
when it stops early it still returns a cursor to continue from.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from fastapi import HTTPException

from api.schemas.raw_events import RawEvent
from shared import keys
from shared.settings import Settings

CHUNK = 500
MAX_SCANNED = 20_000


@dataclass(frozen=True)
class Filters:
    status: str | None
    stage: str | None
    run_id: str | None

    def match(self, row: list[Any]) -> bool:
        if self.status is not None and (self.status == "error") != bool(row[1]):
            return False
        if self.stage is not None and row[4] != self.stage:
            return False
        return self.run_id is None or row[5] == self.run_id


def parse_cursor(cursor: str) -> tuple[int, int]:
    try:
        ts, skip = cursor.split(".")
        return int(ts), int(skip)
    except ValueError:
        raise HTTPException(422, "malformed cursor") from None


class RawEvents:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
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
        key = keys.raw_events(keys.partition_of(system_id, self._settings.partitions), system_id)
        top, skip = parse_cursor(cursor) if cursor else (until_ms, 0)
        found: list[RawEvent] = []
        scanned = 0
        while len(found) < limit and scanned < MAX_SCANNED:
            chunk: list[tuple[bytes, float]] = await self._client.zrevrangebyscore(
                key, top, since_ms, start=skip, num=CHUNK, withscores=True
            )  # type: ignore[assignment]
            if not chunk:
                return found, None
            for member, score in chunk:
                scanned += 1
                ts_ms = int(score)
                skip = skip + 1 if ts_ms == top else 1
                top = ts_ms
                row = orjson.loads(member)
                if filters.match(row):
                    found.append(_event(ts_ms, row))
                    if len(found) == limit:
                        break
            if len(chunk) < CHUNK and len(found) < limit:
                return found, None
        return found, f"{top}.{skip}"


def _event(ts_ms: int, row: list[Any]) -> RawEvent:
    return RawEvent(
        ts=datetime.fromtimestamp(ts_ms / 1000, UTC),
        event_type=row[3],
        status="error" if row[1] else "ok",
        latency_ms=row[2],
        stage=row[4],
        run_id=row[5],
        event_id=row[6],
        payload=row[7],
    )
