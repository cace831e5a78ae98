"""A registered system as the registry keeps it."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

# Letters, digits and `. _ - ~ : / @ +`: what pipelines name themselves with, including the
# `<namespace>/<job>` names of OpenLineage (`airflow://prod/etl.load`) and OTLP service names.
NAME_PATTERN = r"^[A-Za-z0-9._~:/@+-]+$"
SystemName = Annotated[str, Field(min_length=1, max_length=128, pattern=NAME_PATTERN)]


class System(BaseModel):
    system_id: int
    name: str
    description: str | None
    created_at: datetime
