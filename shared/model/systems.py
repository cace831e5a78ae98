"""A registered system as the registry keeps it."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

SystemName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")]


class System(BaseModel):
    system_id: int
    name: str
    description: str | None
    created_at: datetime
