from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_MAX_PART = 2**64 - 1


def _fits_a_stream_id(value: str) -> str:
    if any(int(part) > _MAX_PART for part in value.split("-")):
        raise ValueError("both parts of a stream id must fit in 64 bits")
    return value


EntryId = Annotated[
    str,
    Field(pattern=r"^\d{1,20}-\d{1,20}$", examples=["1764316800000-0"]),
    AfterValidator(_fits_a_stream_id),
]


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
