"""Bodies of the channel, transition, notification and mute routes."""

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from shared.model.channels import DEFAULT_NOTIFY_ON, MAX_GROUP_WINDOW_S, ChannelKind
from shared.model.verdict import Verdict


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChannelKind = Field(description="Body format: webhook (LSO's), slack or alertmanager")
    url: AnyHttpUrl = Field(description="http(s) URL the notifications are POSTed to")
    notify_on: list[Verdict] = Field(
        default_factory=lambda: list(DEFAULT_NOTIFY_ON),
        min_length=1,
        max_length=4,
        description="Verdicts this channel cares about: told when the system enters or leaves one",
    )
    name: str | None = Field(None, max_length=128)
    group_window_s: int | None = Field(
        None,
        ge=1,
        le=MAX_GROUP_WINDOW_S,
        strict=True,
        description="Group the transitions reaching the channel: the first opens a group, and "
        "every one within this many seconds of it goes out with it, as one notification. "
        "null: one notification per transition",
    )


class ChannelInfo(BaseModel):
    channel_id: int
    system_id: int | None = Field(description="null: a global channel (every system)")
    kind: ChannelKind
    url: str
    notify_on: list[Verdict]
    name: str | None
    group_window_s: int | None = Field(None, description="null: not grouped")
    created_at: datetime


class ChannelCreated(ChannelInfo):
    secret: str = Field(description="Signing secret of X-LSO-Signature; shown this once")


class ChannelList(BaseModel):
    channels: list[ChannelInfo]


class Transition(BaseModel):
    id: str = Field(description="Stream id of the transition")
    system_id: int
    from_: Verdict | None = Field(alias="from", description="null: the first evaluation")
    to: Verdict
    reason: str
    at: datetime

    model_config = ConfigDict(populate_by_name=True)


class TransitionList(BaseModel):
    transitions: list[Transition] = Field(description="Newest first")


class Delivery(BaseModel):
    delivery_id: str
    channel_id: int
    system_id: int
    from_: Verdict = Field(alias="from")
    to: Verdict
    reason: str | None
    at: datetime = Field(description="When the verdict changed")
    status: Literal["held", "queued", "grouped", "retrying", "delivered", "failed"] = Field(
        description="held: not sent yet, because of the flapping control or a failing upstream "
        "(see held_until, held_reason); grouped: waiting to go out with its channel's group "
        "(see group_id)"
    )
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    held_until: datetime | None = Field(
        None, description="When a held notification goes out (null: while its upstream fails)"
    )
    held_reason: str | None = Field(
        None, description="Why it is held for an upstream, e.g. `upstream extract (3) is UNHEALTHY`"
    )
    group_id: str | None = Field(
        None,
        description="The grouped delivery it goes (or went) out in, for a channel that groups "
        "(GET /groups/{group_id}); its status and attempts are the group's",
    )

    model_config = ConfigDict(populate_by_name=True)


class DeliveryList(BaseModel):
    notifications: list[Delivery] = Field(description="Newest first")


class GroupMember(BaseModel):
    delivery_id: str = Field(description="The system's own delivery (its notifications log)")
    system_id: int
    from_: Verdict = Field(alias="from")
    to: Verdict
    reason: str | None
    at: datetime = Field(description="When the verdict changed")

    model_config = ConfigDict(populate_by_name=True)


class GroupDelivery(BaseModel):
    delivery_id: str = Field(description="The grouped delivery's id (X-LSO-Delivery)")
    channel_id: int
    status: Literal["open", "queued", "retrying", "delivered", "failed"] = Field(
        description="open: still gathering transitions until due_at"
    )
    attempts: int
    last_error: str | None
    opened_at: datetime = Field(description="The first member's transition")
    due_at: datetime | None = Field(description="When an open group goes out")
    created_at: datetime | None = Field(description="When the group closed into its delivery")
    updated_at: datetime | None
    members: list[GroupMember] = Field(description="Oldest first")


class GroupDeliveryList(BaseModel):
    groups: list[GroupDelivery] = Field(description="Newest first; open groups first")


class Mute(BaseModel):
    system_id: int
    muted_until: datetime | None = Field(description="null: not muted")
