"""A run: the events sharing a `run_id`, as the runs read summarises them."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Run(BaseModel):
    run_id: str
    first_event_at: datetime
    last_event_at: datetime
    duration_seconds: float
    events: int
    errors: int
    stages: dict[str, int] = Field(description="Events per stage seen in the run")
    outcome: Literal["running", "succeeded", "failed"]
    flags: list[Literal["too_long", "too_fast"]] = Field(
        description="Against the policy's max_run_seconds / min_run_seconds"
    )
