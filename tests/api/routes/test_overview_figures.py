"""GET /health?figures=true: each line of the page with the figures of its policy's window (the
dashboard's list), read for the page only."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.schemas.health import Overview
from shared.services.fleet_figures import MAX_SYSTEMS
from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from worker.consumer import DrainStats


def test_figures_are_those_of_each_systems_window_and_only_when_asked(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    busy, quiet = register(api, "busy"), register(api, "quiet")
    short = register(api, "short-window", policy={"window_seconds": 60})
    at = clock.now - timedelta(seconds=30)
    post_events(api, busy, [event(at, latency_ms=float(i + 1)) for i in range(90)]
                + [event(at, status="error", latency_ms=100.0) for _ in range(10)])  # fmt: skip
    # Two minutes old: inside the default 300-s window, outside a 60-s one.
    post_events(api, short, [event(clock.now - timedelta(seconds=120))])
    drain()

    plain = api.get("/health").json()
    assert "total" not in plain["systems"][0]  # the answer stays what it was without figures
    answer = api.get("/health", params={"figures": "true", "limit": 10}).json()
    Overview.model_validate(answer)
    lines = {line["name"]: line for line in answer["systems"]}

    assert (lines["busy"]["total"], lines["busy"]["window_seconds"]) == (100, 300)
    assert lines["busy"]["error_rate"] == pytest.approx(0.1)
    assert lines["busy"]["p95_latency"] == pytest.approx(100, rel=0.02)  # the 10 errors
    assert lines["busy"]["last_event_at"].startswith(at.isoformat()[:19])
    assert (lines["quiet"]["total"], lines["quiet"]["last_event_at"]) == (0, None)
    assert (lines["short-window"]["total"], lines["short-window"]["window_seconds"]) == (0, 60)
    assert lines["short-window"]["last_event_at"] is not None  # the last event, wherever it is
    assert quiet in {line["system_id"] for line in answer["systems"]}


@pytest.mark.parametrize("params", [{"figures": "true"},
                                    {"figures": "true", "limit": MAX_SYSTEMS + 1},
                                    {"figures": "maybe", "limit": 5}])  # fmt: skip
def test_figures_need_a_page_of_bounded_size(api: TestClient, params: dict[str, object]) -> None:
    register(api, "one")
    answer = api.get("/health", params=params)
    assert answer.status_code == 422, answer.text
    assert "figures" in answer.text
