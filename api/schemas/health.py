"""Responses of the health routes: the domain's read model plus the probe and overview shapes."""

from pydantic import BaseModel, Field

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


class Overview(BaseModel):
    systems: list[SystemVerdict] = Field(description="Worst first")


__all__ = [
    "Health",
    "LastError",
    "Rule",
    "StageHealth",
]  # the domain's models, re-exported as responses
