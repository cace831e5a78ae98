"""Validate a raw batch body into compact rows (shared/model/codec.py).

The body is validated straight from bytes: the plain valid case by `compact_rows`
(shared/ingest/fast_rows.py, msgspec in compiled code), everything else by the pydantic model,
which stays the reference for error messages. Checks that depend on settings or on the path
(system id match, the accepted `ts` range, payload size and depth) follow in one pass and report
the same `loc` shape as pydantic.

A rejected body must not cost much more than an accepted one of the same size, whatever it holds:
events are validated in chunks and validation stops once MAX_ERRORS errors are found, so a batch
of 5 000 wrong events costs about what its first few hundred would.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pydantic_core
from pydantic import TypeAdapter, ValidationError

from shared.errors import InvalidInput
from shared.ingest.fast_rows import compact_rows
from shared.model.events import MAX_PAYLOAD_DEPTH, Event, batch_model, payload_depth
from shared.settings import Settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
MAX_ERRORS = 100  # errors named in one answer; validation stops there
CHUNK_EVENTS = 50  # events validated by pydantic at a time
_EVENTS = TypeAdapter(list[Event])


class BatchValidator:
    """Pure (no I/O): bytes of a batch body in, compact rows out, or InvalidInput."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.max_events = settings.max_batch_events
        self.model = batch_model(settings.max_batch_events)

    def validate(self, system_id: int, body: bytes, now: datetime) -> list[list[Any]]:
        """Compact rows of a valid batch; raises InvalidInput naming the bad fields (at most
        MAX_ERRORS of them)."""
        now_ms = (now - _EPOCH) // _MS
        latest_ms = now_ms + self._settings.max_future_skew_s * 1000
        earliest_ms = now_ms - self._settings.max_event_age_s * 1000
        s = self._settings
        fast = compact_rows(
            body, system_id, latest_ms, s.max_batch_events, s.max_payload_bytes, earliest_ms
        )
        if fast is not None:
            return fast
        return self.validate_with_pydantic(system_id, body, latest_ms, earliest_ms)

    def validate_with_pydantic(
        self, system_id: int, body: bytes, latest_ms: int, earliest_ms: int = 0
    ) -> list[list[Any]]:
        """`validate` for every body: the reference that compact_rows must agree with."""
        events = self._envelope(body)
        errors: list[dict[str, Any]] = []
        rows: list[list[Any]] = []
        for start in range(0, len(events), CHUNK_EVENTS):
            chunk = events[start : start + CHUNK_EVENTS]
            try:
                parsed = _EVENTS.validate_json(pydantic_core.to_json(chunk))
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    index, *rest = err["loc"]
                    errors.append({**err, "loc": ("body", "events", start + int(index), *rest)})
                if len(errors) >= MAX_ERRORS:
                    break
                continue
            for i, e in enumerate(parsed, start):
                ts_ms = (e.ts - _EPOCH) // _MS  # exact (float timestamps could round a ms away)
                in_range = earliest_ms <= ts_ms <= latest_ms
                if not in_range or e.system_id not in (None, system_id) or e.payload is not None:
                    errors += self._problems(i, ts_ms, latest_ms, earliest_ms, e, system_id)
                rows.append(
                    [ts_ms, int(e.status == "error"), e.latency_ms, e.event_type, e.stage,
                     e.run_id, e.event_id, e.payload]
                )  # fmt: skip
            if len(errors) >= MAX_ERRORS:
                break
        if errors:
            raise InvalidInput(
                errors[:MAX_ERRORS], complete=len(errors) < MAX_ERRORS, events=len(events)
            )
        return rows

    def _envelope(self, body: bytes) -> list[Any]:
        """The `events` of a body whose outer shape is right; InvalidInput naming what is not.

        The envelope is judged by the model itself with the events cut to one, so its errors are
        pydantic's own while their cost does not grow with the batch."""
        try:
            doc = pydantic_core.from_json(body)
        except ValueError as exc:
            if "recursion limit" in str(exc):  # nests deeper than any parser here follows
                msg = (
                    f"JSON nests too deeply: a payload may nest at most {MAX_PAYLOAD_DEPTH} levels"
                )
                raise InvalidInput([_error(("body",), msg)]) from None
            doc = None  # not JSON: the model names the problem (json_invalid)
        events = doc.get("events") if isinstance(doc, dict) else None
        if isinstance(events, list) and len(events) > self._settings.max_batch_events:
            n, limit = len(events), self._settings.max_batch_events
            raise InvalidInput([{
                "type": "too_long", "loc": ("body", "events"),
                "msg": f"List should have at most {limit} items after validation, not {n}",
                "ctx": {"field_type": "List", "max_length": limit, "actual_length": n},
            }])  # fmt: skip
        if isinstance(events, list) and events and set(doc) == {"events"}:
            return events
        probe = body if doc is None else pydantic_core.to_json(_cut(doc))
        try:
            self.model.model_validate_json(probe)
        except ValidationError as exc:
            raise InvalidInput(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        raise AssertionError("an envelope the fast checks refused was accepted")  # unreachable

    def _problems(
        self, index: int, ts_ms: int, latest_ms: int, earliest_ms: int, e: Event, system_id: int
    ) -> list[dict[str, Any]]:
        """What is wrong with one event beyond its schema (empty when nothing is)."""
        loc = ("body", "events", index)
        errors = []
        if ts_ms > latest_ms:
            skew = self._settings.max_future_skew_s
            errors.append(_error(loc + ("ts",), f"ts lies after {_iso(latest_ms)}, more than "
                                 f"LSO_MAX_FUTURE_SKEW_S={skew} s ahead"))  # fmt: skip
        if ts_ms < earliest_ms:
            age = self._settings.max_event_age_s
            errors.append(_error(loc + ("ts",), f"ts lies before {_iso(earliest_ms)}, the oldest "
                                 f"accepted (LSO_MAX_EVENT_AGE_S={age} s)"))  # fmt: skip
        if e.system_id is not None and e.system_id != system_id:
            errors.append(_error(loc + ("system_id",), f"must equal the path id {system_id}"))
        if e.payload is not None:
            problem = self._payload_problem(e.payload)
            if problem:
                errors.append(_error(loc + ("payload",), problem))
        return errors

    def _payload_problem(self, payload: dict[str, Any]) -> str | None:
        if payload_depth(payload) > MAX_PAYLOAD_DEPTH:
            return f"nests deeper than {MAX_PAYLOAD_DEPTH} levels"
        try:
            size = len(orjson.dumps(payload))
        except (TypeError, orjson.JSONEncodeError) as exc:  # e.g. an integer beyond 64 bits
            return f"cannot be stored: {exc}"
        if size > self._settings.max_payload_bytes:
            return f"exceeds {self._settings.max_payload_bytes} bytes"
        return None


def _cut(doc: Any) -> Any:
    """The document with its events cut to the first one (enough for the envelope's errors)."""
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        return {**doc, "events": doc["events"][:1]}
    return doc


def _iso(ms: int) -> str:
    return (_EPOCH + ms * _MS).isoformat().replace("+00:00", "Z")


def _error(loc: tuple[Any, ...], msg: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": loc, "msg": msg}
