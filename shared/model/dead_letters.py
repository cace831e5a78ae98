"""A dead letter: a stream entry that could not be applied, and why."""

from pydantic import BaseModel, Field


class DeadLetter(BaseModel):
    id: str = Field(description="Id in the dead-letter stream (what replay takes)")
    partition: int
    stream_id: str = Field(description="Id the entry had in the ingest stream")
    error: str = Field(description="Why it could not be applied")
    deliveries: int
    system_id: int | None = Field(description="None when the entry could not even be read")
    events: int | None
