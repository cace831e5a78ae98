"""A public probe says the verdict and nothing a user wrote (stages and run ids reach reasons)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.support.clock import Clock
from tests.support.events import event

HOSTILE_STAGE = "<!channel> <https://evil.example/login|Click to re-auth>"


def test_a_public_probe_carries_no_user_written_text(
    api: TestClient, clock: Clock, drain: Callable[..., Any]
) -> None:
    policy = {"consecutive_failures": 2}
    sid = api.post("/systems", json={"name": "probed", "policy": policy}).json()["system_id"]
    at = clock.now - timedelta(seconds=5)
    events = [event(at, status="error", latency_ms=5, stage=HOSTILE_STAGE)] * 3
    assert api.post(f"/systems/{sid}/events", json={"events": events}).status_code == 202
    drain()
    health = api.get(f"/systems/{sid}/health").json()
    assert "evil.example" in health["reason"]  # the full answer (with a key) names the stage
    probe = api.get(f"/systems/{sid}/health", params={"probe": 1})
    assert probe.status_code == 503  # UNHEALTHY, from the same rule
    assert probe.json()["reason"] is None
    assert "evil.example" not in probe.text
