"""Bodies of the system routes."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.model.policy import Policy

# The domain's models, re-exported as response models.
from shared.model.systems import System as System
from shared.model.systems import SystemName as SystemName


class SystemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SystemName
    description: Annotated[str, Field(max_length=1024)] | None = None
    policy: Policy | None = Field(
        None, description="Health policy to set (also on an existing name); see PUT .../policy"
    )


class SystemsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    systems: list[SystemCreate] = Field(min_length=1, max_length=1000)


class SystemRegistered(BaseModel):
    system_id: int
    name: str
    created: bool = Field(description="False: the name was registered already")


class SystemsRegistered(BaseModel):
    systems: list[SystemRegistered] = Field(description="In the order of the request")


class SystemList(BaseModel):
    systems: list[System] = Field(description="By id")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page"
    )


class SystemDeleted(BaseModel):
    system_id: int
    name: str
    purge_job: str = Field(description="Id of the job removing the system's data")
