"""Bodies of the badge routes."""

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class BadgeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: StrictBool = Field(description="true: anyone may fetch the badge, without a key")


class BadgeSetting(BaseModel):
    system_id: int
    public: bool = Field(description="Whether the badge answers without a key (else 404)")
    svg_path: str = Field(description="Where the badge is served: `/systems/{id}/badge.svg`")
