"""Notification channels: per system (`/systems/{id}/channels`) and global (`/channels`), and
the grouped deliveries of those that group (`/groups`)."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from api.deps import AdminCaller, AdministeredSystem, ChannelsDep, SystemId
from api.schemas.notifications import (
    ChannelCreate,
    ChannelCreated,
    ChannelInfo,
    ChannelList,
    GroupDelivery,
    GroupDeliveryList,
)
from shared.model.channels import Channel, UnsafeUrl

router = APIRouter(tags=["notifications"])

_UNSAFE: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid body, or a URL that must not be called"}
}


async def _create(channels: ChannelsDep, system_id: int | None, body: ChannelCreate) -> Channel:
    url = str(body.url)
    try:
        await channels.check(url)
    except UnsafeUrl as exc:
        raise HTTPException(
            422, [{"type": "value_error", "loc": ["body", "url"], "msg": str(exc)}]
        ) from exc
    return await channels.create(
        system_id, body.kind, url, body.notify_on, body.name, body.group_window_s
    )


def _info(channel: Channel) -> ChannelInfo:
    return ChannelInfo.model_validate(channel.model_dump(exclude={"secret"}))


@router.post(
    "/systems/{system_id}/channels",
    status_code=201,
    response_model=ChannelCreated,
    responses={404: {"description": "Unknown system"}, **_UNSAFE},
)
async def create_channel(
    system_id: SystemId,
    body: ChannelCreate,
    _: AdministeredSystem,
    channels: ChannelsDep,
) -> ChannelCreated:
    """Send this system's health changes to a URL (admin). The answer holds the channel's signing
    secret, shown this once."""
    channel = await _create(channels, system_id, body)
    return ChannelCreated.model_validate(channel.model_dump())


@router.get(
    "/systems/{system_id}/channels",
    response_model=ChannelList,
    responses={404: {"description": "Unknown system"}},
)
async def read_channels(
    system_id: SystemId, _: AdministeredSystem, channels: ChannelsDep
) -> ChannelList:
    """The system's own channels (admin; global ones are under `/channels`)."""
    return ChannelList(channels=[_info(c) for c in await channels.of(system_id)])


@router.delete(
    "/systems/{system_id}/channels/{channel_id}",
    status_code=204,
    responses={404: {"description": "Unknown system or channel"}},
)
async def delete_channel(
    system_id: SystemId, channel_id: int, _: AdminCaller, channels: ChannelsDep
) -> Response:
    if not await channels.delete(system_id, channel_id):
        raise HTTPException(404, f"system {system_id} has no channel {channel_id}")
    return Response(status_code=204)


@router.post("/channels", status_code=201, response_model=ChannelCreated, responses=_UNSAFE)
async def create_global_channel(
    body: ChannelCreate, _: AdminCaller, channels: ChannelsDep
) -> ChannelCreated:
    """Send every system's health changes to a URL (admin)."""
    channel = await _create(channels, None, body)
    return ChannelCreated.model_validate(channel.model_dump())


@router.get("/channels", response_model=ChannelList)
async def read_global_channels(_: AdminCaller, channels: ChannelsDep) -> ChannelList:
    return ChannelList(channels=[_info(c) for c in await channels.of(None)])


@router.delete(
    "/channels/{channel_id}", status_code=204, responses={404: {"description": "Unknown"}}
)
async def delete_global_channel(channel_id: int, _: AdminCaller, channels: ChannelsDep) -> Response:
    if not await channels.delete(None, channel_id):
        raise HTTPException(404, f"no global channel {channel_id}")
    return Response(status_code=204)


@router.get("/groups", response_model=GroupDeliveryList)
async def read_groups(
    _: AdminCaller,
    channels: ChannelsDep,
    channel_id: Annotated[int | None, Query(ge=1, description="Only this channel's")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> GroupDeliveryList:
    """The groups of channels with `group_window_s` (admin): the open ones, then the grouped
    deliveries, newest first, each with its members."""
    found = await channels.groups(channel_id, limit)
    return GroupDeliveryList(groups=[GroupDelivery.model_validate(g) for g in found])


@router.get(
    "/groups/{group_id}",
    response_model=GroupDelivery,
    responses={404: {"description": "Unknown group"}},
)
async def read_group(group_id: str, _: AdminCaller, channels: ChannelsDep) -> GroupDelivery:
    """One grouped delivery (admin): its status, attempts and members (a system's notifications
    log names it as `group_id`)."""
    found = await channels.group(group_id)
    if found is None:
        raise HTTPException(404, f"no group {group_id}")
    return GroupDelivery.model_validate(found)
