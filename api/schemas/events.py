"""The ingest request body: numbers are strict (no strings coerced), timestamps carry an offset."""

from pydantic import BaseModel

from shared.model.events import MAX_LATENCY_MS, Event, batch_model


# About 115 days: anything longer is a unit mistake, not a latency.
class Accepted(BaseModel):
    accepted: int


__all__ = [
    "MAX_LATENCY_MS",
    "Event",
    "batch_model",
]  # the domain's models, re-exported as responses
