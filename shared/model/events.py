"""Events: the ingest schema (numbers strict, no strings coerced; timestamps carry an offset) and
the stored raw event as reads return it."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

MAX_LATENCY_MS = 1e10


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ts: Annotated[AwareDatetime, Field(strict=True, description="RFC 3339 with offset or Z")]
    event_type: Annotated[str, Field(min_length=1, max_length=64)]
    status: Literal["ok", "error"]
    latency_ms: Annotated[float, Field(ge=0, le=MAX_LATENCY_MS, allow_inf_nan=False, strict=True)]
    run_id: Annotated[str, Field(max_length=128)] | None = None
    stage: Annotated[str, Field(max_length=64)] | None = None
    payload: dict[str, Any] | None = Field(None, description="JSON object, size-limited")
    system_id: Annotated[int, Field(strict=True)] | None = Field(
        None, description="Must equal the path id when present"
    )
    event_id: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
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
