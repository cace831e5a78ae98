"""Validate a raw batch body into compact rows (shared/model/codec.py).

The body is validated straight from bytes (no intermediate dicts): the plain valid case by
`compact_rows` (shared/ingest/fast_rows.py), everything else by the pydantic model, which stays the
reference for error messages. Checks that depend on settings or on the path (system id match,
future skew, payload size) follow in one pass and report the same `loc` shape as pydantic.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from shared.errors import InvalidInput
from shared.ingest.fast_rows import compact_rows
from shared.model.events import Event, batch_model
from shared.settings import Settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class BatchValidator:
    """Pure (no I/O): bytes of a batch body in, compact rows out, or InvalidInput."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.model = batch_model(settings.max_batch_events)

    def validate(self, system_id: int, body: bytes, now: datetime) -> list[list[Any]]:
        """Compact rows of a valid batch; raises InvalidInput naming every bad field."""
        latest_ms = (now - _EPOCH) // _MS + self._settings.max_future_skew_s * 1000
        s = self._settings
        fast = compact_rows(body, system_id, latest_ms, s.max_batch_events, s.max_payload_bytes)
        if fast is not None:
            return fast
        return self.validate_with_pydantic(system_id, body, latest_ms)

    def validate_with_pydantic(
        self, system_id: int, body: bytes, latest_ms: int
    ) -> list[list[Any]]:
        """`validate` for every body: the reference that compact_rows must agree with."""
        try:
            batch = self.model.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidInput(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        errors: list[dict[str, Any]] = []
        rows: list[list[Any]] = []
        events: list[Event] = batch.events  # type: ignore[attr-defined]
        # Only bodies that compact_rows would not judge come here: errors, and unusual forms.
        for i, e in enumerate(events):
            ts_ms = (e.ts - _EPOCH) // _MS  # exact (float timestamps could round a ms away)
            payload = e.payload
            if ts_ms > latest_ms or e.system_id not in (None, system_id) or payload is not None:
                errors += self._problems(i, ts_ms, latest_ms, e, system_id)
            rows.append(
                [ts_ms, int(e.status == "error"), e.latency_ms, e.event_type, e.stage, e.run_id,
                 e.event_id, payload]
            )  # fmt: skip
        if errors:
            raise InvalidInput(errors)
        return rows

    def _problems(
        self, index: int, ts_ms: int, latest_ms: int, e: Event, system_id: int
    ) -> list[dict[str, Any]]:
        """What is wrong with one event beyond its schema (empty when nothing is)."""
        loc = ("body", "events", index)
        errors = []
        if ts_ms > latest_ms:
            errors.append(_error(loc + ("ts",), "ts lies more than the allowed skew ahead"))
        if e.system_id is not None and e.system_id != system_id:
            errors.append(_error(loc + ("system_id",), f"must equal the path id {system_id}"))
        if e.payload is not None:
            problem = self._payload_problem(e.payload)
            if problem:
                errors.append(_error(loc + ("payload",), problem))
        return errors

    def _payload_problem(self, payload: dict[str, Any]) -> str | None:
        try:
            size = len(orjson.dumps(payload))
        except (TypeError, orjson.JSONEncodeError) as exc:  # e.g. an integer beyond 64 bits
            return f"cannot be stored: {exc}"
        if size > self._settings.max_payload_bytes:
            return f"exceeds {self._settings.max_payload_bytes} bytes"
        return None


def _error(loc: tuple[Any, ...], msg: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": loc, "msg": msg}
