"""A system's verdict changes, the notifications sent about them, and muting them."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from api.deps import AdministeredSystem, ChannelsDep, NowDep, ReadableSystem, SystemId
from api.schemas.notifications import Delivery, DeliveryList, Mute, Transition, TransitionList

router = APIRouter(tags=["notifications"])

Limit = Annotated[int, Query(ge=1, le=1000)]
MAX_MUTE = timedelta(days=90)
_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown system"}}


@router.get("/systems/{system_id}/transitions", response_model=TransitionList, responses=_UNKNOWN)
async def read_transitions(
    system_id: SystemId,
    _: ReadableSystem,
    channels: ChannelsDep,
    limit: Limit = 100,
) -> TransitionList:
    """Every change of the system's verdict, as the evaluator saw it, newest first."""
    found = await channels.transitions(system_id, limit)
    return TransitionList(transitions=[Transition.model_validate(t) for t in found])


@router.get("/systems/{system_id}/notifications", response_model=DeliveryList, responses=_UNKNOWN)
async def read_notifications(
    system_id: SystemId,
    _: ReadableSystem,
    channels: ChannelsDep,
    limit: Limit = 100,
) -> DeliveryList:
    """The delivery log: one line per notification and channel, with its status and attempts."""
    found = await channels.deliveries(system_id, limit)
    return DeliveryList(notifications=[Delivery.model_validate(d) for d in found])


@router.get("/systems/{system_id}/mute", response_model=Mute, responses=_UNKNOWN)
async def read_mute(system_id: SystemId, _: ReadableSystem, channels: ChannelsDep) -> Mute:
    return Mute(system_id=system_id, muted_until=await channels.muted_until(system_id))


@router.post(
    "/systems/{system_id}/mute",
    response_model=Mute,
    responses={**_UNKNOWN, 422: {"description": "`until` missing, past, or too far"}},
)
async def mute(
    system_id: SystemId,
    _: AdministeredSystem,
    channels: ChannelsDep,
    now: NowDep,
    until: Annotated[datetime, Query(description="End of the mute (ISO 8601 with a zone)")],
) -> Mute:
    """Send no notification about the system until `until` (a maintenance window). Transitions
    are still recorded; if the verdict then differs from the last one told, it is told."""
    if until.tzinfo is None:
        raise HTTPException(422, _bad("needs a time zone (e.g. Z or +02:00)"))
    if not now < until <= now + MAX_MUTE:
        raise HTTPException(
            422, _bad(f"must be in the future and at most {MAX_MUTE.days} days away")
        )
    await channels.mute(system_id, until)
    return Mute(system_id=system_id, muted_until=await channels.muted_until(system_id))


@router.delete("/systems/{system_id}/mute", status_code=204, responses=_UNKNOWN)
async def unmute(system_id: SystemId, _: AdministeredSystem, channels: ChannelsDep) -> Response:
    await channels.unmute(system_id)
    return Response(status_code=204)


def _bad(msg: str) -> list[dict[str, object]]:
    return [{"type": "value_error", "loc": ["query", "until"], "msg": msg}]
