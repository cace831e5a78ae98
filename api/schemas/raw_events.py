"""Response of the raw-event listing."""

from pydantic import BaseModel, Field

# The domain's models, re-exported as response models.
from shared.model.events import (
    RawEvent as RawEvent,
)


class EventPage(BaseModel):
    events: list[RawEvent] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")
