"""Bodies of the dead-letter routes."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The domain's models, re-exported as response models.
from shared.model.dead_letters import (
    DeadLetter as DeadLetter,
)

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


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetter]


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[EntryId] | None = Field(
        None, max_length=10_000, description="Dead letters to re-queue; omit to re-queue all"
    )


class Replayed(BaseModel):
    replayed: int
