"""Response of the runs route."""

from pydantic import BaseModel, Field

# The domain's models, re-exported as response models.
from shared.model.runs import (
    Run as Run,
)


class RunList(BaseModel):
    runs: list[Run] = Field(description="Most recently active first")
