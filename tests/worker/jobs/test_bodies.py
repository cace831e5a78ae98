"""The three bodies and the signature."""

import hashlib
import hmac
from datetime import UTC, datetime

from shared.model.channels import ChannelKind
from worker.jobs.bodies import Notice, alertmanager, render, signed_headers, slack, webhook

AT = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def notice(before: str, after: str) -> Notice:
    return Notice("3-1-9", 3, "orders-etl", before, after, "error rate 0.4 ≥ 0.2", AT)


def test_the_webhook_body_names_the_change() -> None:
    assert webhook(notice("OK", "UNHEALTHY")) == {
        "type": "lso.health.changed",
        "version": 1,
        "delivery_id": "3-1-9",
        "system": {"id": 3, "name": "orders-etl"},
        "from": "OK",
        "to": "UNHEALTHY",
        "reason": "error rate 0.4 ≥ 0.2",
        "at": "2026-11-28T06:00:00Z",
        "health_path": "/systems/3/health",
    }


def test_slack_gets_text() -> None:
    assert slack(notice("OK", "DEGRADED"))["text"].startswith(":large_yellow_circle: *orders-etl*")


def test_alertmanager_resolves_the_verdict_left_and_fires_the_one_entered() -> None:
    alerts = alertmanager(notice("DEGRADED", "UNHEALTHY"))
    assert [(a["labels"]["health"], a["labels"]["severity"]) for a in alerts] == [
        ("DEGRADED", "warning"),
        ("UNHEALTHY", "critical"),
    ]
    assert alerts[0]["endsAt"] == "2026-11-28T06:00:00Z"
    assert alerts[1]["endsAt"] == "2026-11-29T06:00:00Z"
    assert alertmanager(notice("OK", "OK")) == []
    assert [a["labels"]["health"] for a in alertmanager(notice("UNHEALTHY", "OK"))] == ["UNHEALTHY"]


def test_the_signature_covers_timestamp_and_body() -> None:
    body = render(ChannelKind.WEBHOOK, notice("OK", "UNHEALTHY"))
    headers = signed_headers("s3cret", body, "3-1-9", 1_800_000_000)
    mac = hmac.new(b"s3cret", b"1800000000." + body, hashlib.sha256).hexdigest()
    assert headers["X-LSO-Signature"] == f"sha256={mac}"
    assert headers["X-LSO-Delivery"] == "3-1-9"
