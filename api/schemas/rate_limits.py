from pydantic import BaseModel, ConfigDict, Field


class RateLimitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events_per_s: float | None = Field(
        ..., ge=0, allow_inf_nan=False, description="The system's own limit; null: the default"
    )


class RateLimit(BaseModel):
    system_id: int
    events_per_s: float | None = Field(description="The system's own limit, if it has one")
    effective_events_per_s: float = Field(description="What applies (0: unlimited)")
