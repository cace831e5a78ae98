"""Dead letters (admin): list the entries that could not be applied, and re-queue them."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminCaller, DeadLettersDep
from api.schemas.dead_letters import DeadLetterList, Replayed, ReplayRequest

router = APIRouter(prefix="/admin/dead-letters", tags=["admin"])


@router.get("", response_model=DeadLetterList)
async def read_dead_letters(
    dead_letters: DeadLettersDep,
    _: AdminCaller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeadLetterList:
    """Stream entries that could not be applied, oldest first, with the reason."""
    return DeadLetterList(dead_letters=await dead_letters.list(limit))


@router.post("/replay", response_model=Replayed)
async def replay_dead_letters(
    dead_letters: DeadLettersDep, body: ReplayRequest, _: AdminCaller
) -> Replayed:
    """Put dead letters back into their ingest stream (all of them when `ids` is omitted).
    Event ids and Idempotency-Keys still apply, so a replay never counts anything twice."""
    return Replayed(replayed=await dead_letters.replay(body.ids))
