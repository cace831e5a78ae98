"""Response of the history route."""

from pydantic import BaseModel

# The domain's models, re-exported as response models.
from shared.model.health import (
    HistoryPoint as HistoryPoint,
)


class History(BaseModel):
    system_id: int
    step_seconds: int
    points: list[HistoryPoint]
