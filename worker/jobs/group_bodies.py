"""The bodies of a grouped delivery: the transitions a channel's group gathered, in each of the
three formats (docs/notifications.md, "Grouping"). A single transition's body is unchanged
(worker/jobs/bodies.py); a group reuses it for each of its members."""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.model.channels import ChannelKind
from worker.jobs.bodies import Notice, alertmanager, slack, webhook

# Slack shows at most 50 blocks a message: a header, this many lines, and "… and N more".
SLACK_LISTED = 40


@dataclass(frozen=True)
class GroupNotice:
    """The transitions one channel's group gathered, oldest first, as told in one delivery."""

    delivery_id: str
    channel_id: int
    opened_at: datetime
    members: list[Notice]

    @property
    def systems(self) -> int:
        return len({n.system_id for n in self.members})


def group_webhook(g: GroupNotice) -> dict[str, Any]:
    """`transitions` holds each member's own webhook body, without `type` and `version`."""
    listed = []
    for n in g.members:
        body = webhook(n)
        del body["type"], body["version"]
        listed.append(body)
    return {
        "type": "lso.health.grouped",
        "version": 1,
        "group": True,
        "delivery_id": g.delivery_id,
        "channel_id": g.channel_id,
        "opened_at": _iso(g.opened_at),
        "systems": g.systems,
        "transitions": listed,
        "group_path": f"/groups/{g.delivery_id}",
    }


def group_slack(g: GroupNotice) -> dict[str, Any]:
    entered = Counter(n.after for n in g.members)
    tally = ", ".join(f"{count} {verdict}" for verdict, count in sorted(entered.items()))
    header = f"*{len(g.members)} health changes* of {g.systems} systems ({tally})"
    lines = [slack(n)["text"] for n in g.members[:SLACK_LISTED]]
    if len(g.members) > SLACK_LISTED:
        lines.append(f"… and {len(g.members) - SLACK_LISTED} more: GET /groups/{g.delivery_id}")
    section = [{"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in lines]
    return {
        "text": "\n".join([header, *lines]),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": header}}, *section],
    }


def group_alertmanager(g: GroupNotice) -> list[dict[str, Any]]:
    """One POST of the alerts of every system in the group: Alertmanager groups them itself.
    A system told twice within the group counts by its net change (the verdict before its
    first change, the one after its last), since one POST cannot both fire and resolve the
    same alert."""
    first: dict[int, Notice] = {}
    last: dict[int, Notice] = {}
    for n in g.members:
        first.setdefault(n.system_id, n)
        last[n.system_id] = n
    alerts: list[dict[str, Any]] = []
    for system_id, n in last.items():
        net = Notice(n.delivery_id, system_id, n.system_name, first[system_id].before, n.after,
                     n.reason, n.at)  # fmt: skip
        if net.before != net.after:
            alerts.extend(alertmanager(net))
    return alerts


def render_group(kind: ChannelKind, g: GroupNotice) -> bytes:
    build = {ChannelKind.WEBHOOK: group_webhook, ChannelKind.SLACK: group_slack}
    return orjson.dumps(build.get(kind, group_alertmanager)(g))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
