from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.model.policy import Policy

SystemName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")]


class SystemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SystemName
    description: Annotated[str, Field(max_length=1024)] | None = None
    policy: Policy | None = Field(
        None, description="Health policy to set (also on an existing name); see PUT .../policy"
    )


class System(BaseModel):
    system_id: int
    name: str
    description: str | None
    created_at: datetime


class SystemList(BaseModel):
    systems: list[System]


class SystemDeleted(BaseModel):
    system_id: int
    name: str
    purge_job: str = Field(description="Id of the job removing the system's data")
