from datetime import datetime

from pydantic import BaseModel

from shared.verdict import Verdict


class Health(BaseModel):
    system_id: int
    window_seconds: int
    window_start: datetime
    window_end: datetime
    health: Verdict
    reason: str
    total: int
    errors: int
    error_rate: float
    rps: float
    p50_latency: float
    p95_latency: float
    p99_latency: float
    last_event_at: datetime | None
