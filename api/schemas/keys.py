"""Bodies of the key routes, and the answer to a registration (with its first key)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.systems import System
from shared.model.systems import NAME_PATTERN


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["ingest", "read", "ping"] = Field(
        description="ingest: send events; read: read; ping: the ping URLs (/ping/{token}) only"
    )
    name: str | None = Field(None, max_length=128)
    systems: list[int] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Read keys only: the systems it may read (default: this one)",
    )


class NamespaceKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["namespace"]
    namespace: Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)] = Field(
        description="The key may create, and send events to, systems named `<namespace>/…`"
    )
    name: str | None = Field(None, max_length=128)


class KeyInfo(BaseModel):
    key_id: str
    kind: Literal["admin", "ingest", "read", "ping", "namespace"]
    namespace: str | None = None
    systems: list[int]
    prefix: str = Field(description="The token's first characters, to tell keys apart")
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


class NewKey(KeyInfo):
    token: str = Field(description="Shown once: only a hash is stored")


class KeyList(BaseModel):
    keys: list[KeyInfo]


class CurrentKey(BaseModel):
    kind: Literal["admin", "ingest", "read", "ping", "namespace"]
    key_id: str = Field(description='"env": LSO_ADMIN_TOKEN; "auth-off": access control is off')
    systems: list[int] | None = Field(
        description="The systems it may use (by id); null: every system (admin)"
    )
    namespace: str | None = Field(None, description="Namespace keys: systems named `<ns>/…`")


class SystemCreated(System):
    ingest_key: NewKey | None = Field(
        None, description="The new system's first ingest key (201 only; shown once)"
    )
