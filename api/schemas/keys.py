"""Bodies of the key routes, and the answer to a registration (with its first key)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.systems import System


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["ingest", "read"]
    name: str | None = Field(None, max_length=128)
    systems: list[int] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Read keys only: the systems it may read (default: this one)",
    )


class KeyInfo(BaseModel):
    key_id: str
    kind: Literal["admin", "ingest", "read"]
    systems: list[int]
    prefix: str = Field(description="The token's first characters, to tell keys apart")
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


class NewKey(KeyInfo):
    token: str = Field(description="Shown once: only a hash is stored")


class KeyList(BaseModel):
    keys: list[KeyInfo]


class SystemCreated(System):
    ingest_key: NewKey | None = Field(
        None, description="The new system's first ingest key (201 only; shown once)"
    )
