"""Bodies of the rate-limit routes."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

MIN_RATE = 0.001
MAX_RATE = 1e9


class RateLimitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events_per_s: float | None = Field(
        ...,
        ge=0,
        le=MAX_RATE,
        allow_inf_nan=False,
        description=f"The system's own limit; 0: unlimited; else {MIN_RATE} to {MAX_RATE:g}; "
        "null: the default",
    )

    @field_validator("events_per_s")
    @classmethod
    def _not_vanishingly_small(cls, value: float | None) -> float | None:
        if value is not None and 0 < value < MIN_RATE:
            raise ValueError(f"a limit must be 0 (unlimited) or at least {MIN_RATE}")
        return value


class RateLimit(BaseModel):
    system_id: int
    events_per_s: float | None = Field(description="The system's own limit, if it has one")
    effective_events_per_s: float = Field(description="What applies (0: unlimited)")
