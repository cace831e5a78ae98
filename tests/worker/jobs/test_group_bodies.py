"""The bodies of a grouped delivery: each member as its own single body would tell it."""

from datetime import UTC, datetime, timedelta

import orjson

from shared.model.channels import ChannelKind
from worker.jobs.bodies import Notice, webhook
from worker.jobs.group_bodies import (
    SLACK_LISTED,
    GroupNotice,
    group_alertmanager,
    group_slack,
    group_webhook,
    render_group,
)

AT = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def member(system_id: int, before: str = "OK", after: str = "UNHEALTHY", s: int = 0) -> Notice:
    return Notice(f"{system_id}-1-9", system_id, f"etl-<{system_id}>", before, after,
                  "error rate 1 ≥ 0.5", AT + timedelta(seconds=s))  # fmt: skip


def group(*members: Notice) -> GroupNotice:
    return GroupNotice("g7", 9, AT, list(members))


def test_the_webhook_body_lists_each_member_as_its_single_body() -> None:
    body = group_webhook(group(member(3), member(4, s=2)))
    assert {k: v for k, v in body.items() if k != "transitions"} == {
        "type": "lso.health.grouped",
        "version": 1,
        "group": True,
        "delivery_id": "g7",
        "channel_id": 9,
        "opened_at": "2026-11-28T06:00:00Z",
        "systems": 2,
        "group_path": "/groups/g7",
    }
    single = webhook(member(4, s=2))
    del single["type"], single["version"]
    assert body["transitions"][1] == single


def test_slack_gets_one_message_escaped_and_bounded() -> None:
    few = group_slack(group(member(3), member(4, "UNHEALTHY", "OK")))
    assert few["text"].splitlines()[0] == "*2 health changes* of 2 systems (1 OK, 1 UNHEALTHY)"
    assert "*etl-&lt;3&gt;* is *UNHEALTHY*" in few["text"] and "<3>" not in few["text"]
    assert len(few["blocks"]) == 3
    many = group_slack(group(*(member(i) for i in range(100))))
    assert len(many["blocks"]) == 1 + SLACK_LISTED + 1 <= 50  # Slack's limit
    assert many["text"].endswith(f"… and {100 - SLACK_LISTED} more: GET /groups/g7")


def test_alertmanager_gets_every_system_s_alerts_in_one_post_by_net_change() -> None:
    alerts = group_alertmanager(
        group(member(3), member(4, "DEGRADED", "UNHEALTHY"), member(3, "UNHEALTHY", "OK", s=5))
    )
    assert [(a["labels"]["system_id"], a["labels"]["health"], a["endsAt"]) for a in alerts] == [
        ("4", "DEGRADED", "2026-11-28T06:00:00Z"),
        ("4", "UNHEALTHY", "2026-11-29T06:00:00Z"),
    ]  # system 3 went OK -> OK within the group: nothing fired, nothing to resolve
    both = group_alertmanager(group(member(3), member(3, "UNHEALTHY", "DEGRADED", s=5)))
    assert [(a["labels"]["health"], a["startsAt"]) for a in both] == [
        ("DEGRADED", "2026-11-28T06:00:05Z")
    ]


def test_render_group_picks_the_channel_s_format() -> None:
    g = group(member(3))
    assert orjson.loads(render_group(ChannelKind.WEBHOOK, g))["group"] is True
    assert "text" in orjson.loads(render_group(ChannelKind.SLACK, g))
    assert isinstance(orjson.loads(render_group(ChannelKind.ALERTMANAGER, g)), list)
