from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

EntryId = Annotated[str, Field(pattern=r"^\d{1,20}-\d{1,20}$", examples=["1764316800000-0"])]


class DeadLetter(BaseModel):
    id: str = Field(description="Id in the dead-letter stream (what replay takes)")
    partition: int
    stream_id: str = Field(description="Id the entry had in the ingest stream")
    error: str = Field(description="Why it could not be applied")
    deliveries: int
    system_id: int | None = Field(description="None when the entry could not even be read")
    events: int | None


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetter]


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[EntryId] | None = Field(
        None, max_length=10_000, description="Dead letters to re-queue; omit to re-queue all"
    )


class Replayed(BaseModel):
    replayed: int
