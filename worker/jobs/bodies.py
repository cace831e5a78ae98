"""The three notification bodies and the signature header (docs/notifications.md).

Every request carries `X-LSO-Timestamp` (unix seconds) and `X-LSO-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the channel's secret>`, whatever the body.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared.model.channels import ChannelKind
from shared.model.text import slack_escaped
from shared.model.verdict import Verdict

USER_AGENT = "LSO-notifier/1"
FIRING_HOLD = timedelta(days=1)
_SEVERITY = {Verdict.UNHEALTHY: "critical", Verdict.DEGRADED: "warning", Verdict.NO_DATA: "info"}
_EMOJI = {"OK": ":large_green_circle:", "DEGRADED": ":large_yellow_circle:",
          "UNHEALTHY": ":red_circle:", "NO_DATA": ":white_circle:"}  # fmt: skip


@dataclass(frozen=True)
class Notice:
    """One verdict change of one system, as told to one channel."""

    delivery_id: str
    system_id: int
    system_name: str
    before: str
    after: str
    reason: str
    at: datetime


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def webhook(n: Notice) -> dict[str, Any]:
    return {
        "type": "lso.health.changed",
        "version": 1,
        "delivery_id": n.delivery_id,
        "system": {"id": n.system_id, "name": n.system_name},
        "from": n.before,
        "to": n.after,
        "reason": n.reason,
        "at": _iso(n.at),
        "health_path": f"/systems/{n.system_id}/health",
    }


def slack(n: Notice) -> dict[str, Any]:
    # Everything a user wrote is escaped; only LSO's own `*bold*` and emoji are markup.
    name, reason = slack_escaped(n.system_name), slack_escaped(n.reason)
    text = (
        f"{_EMOJI.get(n.after, '')} *{name}* is *{n.after}* (was {n.before}) "
        f"since {_iso(n.at)}: {reason}"
    )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _alert(n: Notice, verdict: str, firing: bool) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {
            "alertname": "LSOSystemHealth",
            "system": n.system_name,
            "system_id": str(n.system_id),
            "health": verdict,
            "severity": _SEVERITY.get(Verdict(verdict), "info"),
            "source": "lso",
        },
        "annotations": {
            "summary": f"{n.system_name} is {verdict}",
            "description": n.reason,
        },
        "startsAt": _iso(n.at),
        "generatorURL": f"/systems/{n.system_id}/health",
    }
    # Resolved: it ended when the verdict changed. Firing: Alertmanager would resolve an alert
    # that is not sent again within its resolve_timeout, and LSO tells each change once, so a
    # firing alert holds for FIRING_HOLD unless LSO resolves it first.
    alert["endsAt"] = _iso(n.at if not firing else n.at + FIRING_HOLD)
    return alert


def alertmanager(n: Notice) -> list[dict[str, Any]]:
    """Alertmanager API v2 alerts: the alert of the verdict left (resolved) and of the verdict
    entered (firing); OK is no alert. Each verdict is its own alert (label `health`)."""
    alerts = []
    if n.before not in ("OK", ""):
        alerts.append(_alert(n, n.before, firing=False))
    if n.after != "OK":
        alerts.append(_alert(n, n.after, firing=True))
    return alerts


def render(kind: ChannelKind, n: Notice) -> bytes:
    build = {ChannelKind.WEBHOOK: webhook, ChannelKind.SLACK: slack}.get(kind, alertmanager)
    return orjson.dumps(build(n))


def signed_headers(secret: str, body: bytes, delivery_id: str, now_s: int) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{now_s}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-LSO-Delivery": delivery_id,
        "X-LSO-Timestamp": str(now_s),
        "X-LSO-Signature": f"sha256={digest}",
    }
