"""Responses of the health routes: the domain's read model plus the probe and overview shapes."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared.model.dependencies import UpstreamFailure
from shared.model.health import Health, LastError, Rule, StageHealth
from shared.model.verdict import Verdict


class Probe(BaseModel):
    system_id: int
    health: Verdict
    reason: str | None = Field(
        description="null while probes are public (LSO_PUBLIC_PROBES): no user-written text"
    )


class SystemVerdict(BaseModel):
    system_id: int
    name: str
    health: Verdict
    reason: str
    since: datetime | None = Field(
        description="When this verdict began (null: computed for this answer)"
    )
    evaluated_at: datetime | None = Field(
        description="When this verdict was computed (null: not evaluated yet)"
    )
    upstream: list[UpstreamFailure] = Field(
        description="The failing upstreams that explain it (empty: none fails)"
    )
    # With `figures=true` only: the policy's window, read for the lines of the page.
    window_seconds: int | None = Field(None, description="figures=true: the policy's window")
    total: int | None = Field(None, description="figures=true: events in the window")
    error_rate: float | None = Field(None, description="figures=true: errors / total")
    p95_latency: float | None = Field(None, description="figures=true: p95 of the window (ms)")
    last_event_at: datetime | None = Field(
        None, description="figures=true: the newest event's ts (null: none yet)"
    )


class Overview(BaseModel):
    systems: list[SystemVerdict] = Field(description="Worst first, then by id")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


__all__ = [
    "Health",
    "LastError",
    "Rule",
    "StageHealth",
    "UpstreamFailure",
]  # the domain's models, re-exported as responses
