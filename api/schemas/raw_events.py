from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class RawEvent(BaseModel):
    ts: datetime
    event_type: str
    status: Literal["ok", "error"]
    latency_ms: float
    stage: str | None
    run_id: str | None
    event_id: str | None
    payload: dict[str, Any] | None


class EventPage(BaseModel):
    events: list[RawEvent] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")
