from datetime import datetime

from pydantic import BaseModel, Field

from shared.model.verdict import Verdict


class HistoryPoint(BaseModel):
    at: datetime = Field(description="Start of the step")
    total: int
    errors: int
    error_rate: float
    p95_latency: float
    health: Verdict
    reason: str


class History(BaseModel):
    system_id: int
    step_seconds: int
    points: list[HistoryPoint]
