"""Validate a raw batch body and append it to its partition's stream as one entry.

The body is validated straight from bytes (no intermediate dicts), then reduced to compact rows
(shared/codec.py). Checks that depend on settings or on the path (system id match, future skew,
payload size) follow in one pass and report the same `loc` shape as pydantic.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis.asyncio as aioredis
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.schemas.events import Event, batch_model
from shared import keys
from shared.settings import Settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class Ingestor:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self.model = batch_model(settings.max_batch_events)

    def validate(self, system_id: int, body: bytes, now: datetime) -> list[list[Any]]:
        """Compact rows of a valid batch; raises RequestValidationError naming every bad field."""
        try:
            batch = self.model.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        latest_ms = (now - _EPOCH) // _MS + self._settings.max_future_skew_s * 1000
        errors: list[dict[str, Any]] = []
        rows: list[list[Any]] = []
        events: list[Event] = batch.events  # type: ignore[attr-defined]
        for i, e in enumerate(events):
            loc = ("body", "events", i)
            ts_ms = (e.ts - _EPOCH) // _MS
            if ts_ms > latest_ms:
                errors.append(_error(loc + ("ts",), "ts lies more than the allowed skew ahead"))
            if e.system_id is not None and e.system_id != system_id:
                errors.append(_error(loc + ("system_id",), f"must equal the path id {system_id}"))
            if (
                e.payload is not None
                and len(orjson.dumps(e.payload)) > self._settings.max_payload_bytes
            ):
                errors.append(
                    _error(loc + ("payload",), f"exceeds {self._settings.max_payload_bytes} bytes")
                )
            rows.append(
                [
                    ts_ms,
                    1 if e.status == "error" else 0,
                    e.latency_ms,
                    e.event_type,
                    e.stage,
                    e.run_id,
                    e.event_id,
                    e.payload,
                ]
            )
        if errors:
            raise RequestValidationError(errors)
        return rows

    async def append(self, system_id: int, entry: dict[bytes, bytes], events: int) -> None:
        """Append one encoded batch and count its events, in one MULTI (same hash slot)."""
        partition = keys.partition_of(system_id, self._settings.partitions)
        pipe = self._client.pipeline(transaction=True)
        pipe.xadd(keys.stream(partition), entry)  # type: ignore[arg-type]
        pipe.hincrby(keys.partition_stats(partition), "events_in", events)
        await pipe.execute()


def _error(loc: tuple[Any, ...], msg: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": loc, "msg": msg}
