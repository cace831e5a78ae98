"""The ingest schema as msgspec Structs: the plain form of a batch, judged in compiled code.

They mirror the pydantic model (shared/model/events.py) only as far as msgspec can judge exactly
like it; they are *narrower* everywhere else, so a body they accept may still need the checks of
shared/ingest/fast_rows.py, and a body they refuse goes to pydantic, which names the problem:

- `ts` is a string, judged by fast_rows: one RFC 3339 shape (TS_PATTERN: `T`, ASCII digits, at
  most 6 fraction digits, `Z` or `±HH:MM`), checked by one regex over all of a batch's timestamps
  (a `pattern` here would cost a regex call per event), then read by msgspec. msgspec's own
  datetime type would take more than that shape: it rounds a 7th fraction digit where pydantic
  truncates, and takes `+0100`, which the model refuses.
- Events forbid unknown fields, which the model ignores: msgspec skips an unknown value without
  the nesting limit of pydantic's parser (which refuses a body nesting ~200 levels anywhere).
- `latency_ms` is a JSON number (msgspec takes no strings, booleans or NaN for a float) in range.
- `system_id` a JSON integer (no booleans, no 7.0), `payload` any JSON object: msgspec keeps
  integers beyond 64 bits exact as pydantic does and refuses numbers that overflow a float.
"""

from functools import cache
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from shared.model.events import MAX_LATENCY_MS

# The one spelling of `ts` the fast path reads (a regex, to be anchored by its user).
TS_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


class Event(msgspec.Struct, forbid_unknown_fields=True):
    ts: str  # TS_PATTERN, checked by shared/ingest/fast_rows.py
    event_type: Annotated[str, Meta(min_length=1, max_length=64)]
    status: Literal["ok", "error"]
    latency_ms: Annotated[float, Meta(ge=0, le=MAX_LATENCY_MS)]
    run_id: Annotated[str, Meta(max_length=128)] | None = None
    stage: Annotated[str, Meta(max_length=64)] | None = None
    event_id: Annotated[str, Meta(min_length=1, max_length=128)] | None = None
    payload: dict[str, Any] | None = None
    system_id: int | None = None


@cache
def batch_decoder(max_events: int) -> msgspec.json.Decoder[Any]:
    """A decoder of `{"events": [...]}` with 1 to `max_events` events and no other field, as
    the model's envelope (extra="forbid"); it returns the list of `Event`s."""
    events = Annotated[list[Event], Meta(min_length=1, max_length=max_events)]
    batch = msgspec.defstruct(
        "Batch", [("events", events)], forbid_unknown_fields=True, module=__name__
    )
    return msgspec.json.Decoder(batch)
