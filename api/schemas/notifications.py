"""Bodies of the channel, transition, notification and mute routes."""

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from shared.model.channels import DEFAULT_NOTIFY_ON, ChannelKind
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


class ChannelInfo(BaseModel):
    channel_id: int
    system_id: int | None = Field(description="null: a global channel (every system)")
    kind: ChannelKind
    url: str
    notify_on: list[Verdict]
    name: str | None
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
    status: Literal["held", "queued", "retrying", "delivered", "failed"] = Field(
        description="held: not sent yet, because of the flapping control or a failing upstream "
        "(see held_until, held_reason)"
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

    model_config = ConfigDict(populate_by_name=True)


class DeliveryList(BaseModel):
    notifications: list[Delivery] = Field(description="Newest first")


class Mute(BaseModel):
    system_id: int
    muted_until: datetime | None = Field(description="null: not muted")
