"""Events: the ingest schema (numbers strict, no strings coerced; timestamps carry an offset) and
the stored raw event as reads return it."""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)

MAX_LATENCY_MS = 1e10

# Event types with a meaning of their own. The run markers open and close a run (its summary in
# GET /systems/{id}/runs) and a note only joins the raw events; none of them is counted in the
# health figures (counts, error rate, latency, last event), so a run reported as stages plus an
# end is counted once, by its stages (docs/health.md, "Runs").
RUN_START = "run_start"
RUN_END = "run_end"
NOTE = "note"
RUN_MARKERS = frozenset({RUN_START, RUN_END})
UNCOUNTED_TYPES = frozenset({RUN_START, RUN_END, NOTE})
# The payload field that holds an error's text (health's `last_error.message`); the adapters and
# the SDK put the exception's or the protocol's error message there.
ERROR_TEXT_FIELD = "error"
# Deepest nesting of a payload's objects and arrays (a payload itself is depth 1). Deeper JSON is
# refused with a 422: the store's encoder stops near 255 levels, and no telemetry needs 64.
MAX_PAYLOAD_DEPTH = 64

# RFC 3339 date-time: date, `T` (or `t`, or a space), time with seconds, optional fraction, and a
# zone. pydantic alone would also take unix seconds written as a string ("1764579600").
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
# What an identifier must not contain: control characters (C0, DEL, C1), and the invisible
# formatting ones that make text display as something else (zero-width, bidi overrides and
# isolates, line/paragraph separators, BOM).
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def _rfc3339(value: Any, parse: ValidatorFunctionWrapHandler) -> Any:
    # Only RFC 3339 strings reach the (lax) datetime parse: not numbers, not other spellings.
    if isinstance(value, datetime) or (isinstance(value, str) and RFC3339.fullmatch(value)):
        return parse(value)
    raise ValueError("must be an RFC 3339 date-time with a zone, e.g. 2026-12-01T09:00:00Z")


def _printable(value: str) -> str:
    found = UNSAFE_CHARS.search(value)
    if found:
        raise ValueError(f"contains the control or formatting character U+{ord(found[0]):04X}")
    return value


def payload_depth(payload: Any) -> int:
    """How deeply the objects and arrays of `payload` nest (iterative: no recursion limit)."""
    deepest, stack = 0, [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_PAYLOAD_DEPTH:  # deeper than the limit: the answer is known
                children = value.values() if isinstance(value, dict) else value
                stack.extend((child, depth + 1) for child in children)
    return deepest


Identifier = Annotated[str, AfterValidator(_printable)]


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ts: Annotated[
        AwareDatetime,
        WrapValidator(_rfc3339),
        Field(description="RFC 3339 with offset or Z"),
    ]
    event_type: Annotated[Identifier, Field(min_length=1, max_length=64)]
    status: Literal["ok", "error"]
    latency_ms: Annotated[float, Field(ge=0, le=MAX_LATENCY_MS, allow_inf_nan=False, strict=True)]
    run_id: Annotated[Identifier, Field(max_length=128)] | None = None
    stage: Annotated[Identifier, Field(max_length=64)] | None = None
    payload: dict[str, Any] | None = Field(None, description="JSON object, size-limited")
    system_id: Annotated[int, Field(strict=True)] | None = Field(
        None, description="Must equal the path id when present"
    )
    event_id: Annotated[Identifier, Field(min_length=1, max_length=128)] | None = Field(
        None, description="Client-chosen id; a repeated id is counted once"
    )


def batch_model(max_events: int) -> type[BaseModel]:
    """The request model `{"events": [...]}` with the configured batch size limit."""
    return create_model(
        "EventBatch",
        __config__=ConfigDict(extra="forbid"),
        events=(Annotated[list[Event], Field(min_length=1, max_length=max_events)], ...),
    )


class RawEvent(BaseModel):
    ts: datetime
    event_type: str
    status: Literal["ok", "error"]
    latency_ms: float
    stage: str | None
    run_id: str | None
    event_id: str | None
    payload: dict[str, Any] | None
