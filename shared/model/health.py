"""The health read model: one system's answer, its rules and stages, and points of its history."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared.model.dependencies import UpstreamFailure
from shared.model.policy import EffectivePolicy
from shared.model.verdict import Verdict


class Rule(BaseModel):
    name: str
    observed: float | None
    threshold: float | None
    fired: bool
    sets: Verdict = Field(description="The verdict this rule gives when it fires")
    reason: str


class StageHealth(BaseModel):
    total: int
    errors: int
    error_rate: float
    p50_latency: float
    p95_latency: float
    p99_latency: float


class LastError(BaseModel):
    at: datetime
    event_type: str
    stage: str | None
    run_id: str | None
    payload_excerpt: str | None = Field(description="The payload as JSON, cut at 200 characters")
    message: str | None = Field(
        None, description="The error's text: the payload's `error` string, cut at 1000 characters"
    )


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
    last_error_at: datetime | None
    last_error: LastError | None
    policy: EffectivePolicy
    rules: list[Rule]
    stages: dict[str, StageHealth]
    upstream: list[UpstreamFailure] = Field(
        default_factory=list,
        description="The failing upstreams (direct or transitive) that explain this system's "
        "state: the failing ones none of whose own upstreams fail; empty when none fails",
    )


class HistoryPoint(BaseModel):
    at: datetime = Field(description="Start of the step")
    total: int
    errors: int
    error_rate: float
    p50_latency: float
    p95_latency: float
    p99_latency: float
    health: Verdict
    reason: str
