"""The evaluator records, beside each verdict, what it judged (for GET /metrics): the window's
error rate and p95 as a health read of that moment has them, and the newest event; none of it
without events."""

import asyncio
from collections.abc import Callable

import orjson
import redis
from fastapi.testclient import TestClient

from shared.services.verdicts import Recorded, Verdicts
from shared.settings import Settings
from shared.store import keys
from shared.store.client import async_client
from shared.store.partitions import Partitions
from tests.support.api import register
from tests.support.clock import Clock
from tests.support.events import event
from tests.support.jobs import MakeSystem
from tests.support.store import partition


def recorded(settings: Settings) -> dict[int, Recorded]:
    async def read() -> dict[int, Recorded]:
        client = async_client(settings)
        try:
            return await Verdicts(client, Partitions(client, settings.partitions)).all()
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_the_window_figures_are_recorded_with_the_verdict_as_the_health_read_has_them(
    make_system: MakeSystem,
    job_api: TestClient,
    client: redis.Redis,
    clock: Clock,
    job_settings: Settings,
    apply_and_evaluate: Callable[..., dict[str, int]],
) -> None:
    sid, _ = make_system()
    events = [event(clock.now, status="error" if i % 4 == 0 else "ok", latency_ms=10.0 + i)
              for i in range(40)]  # fmt: skip
    assert job_api.post(f"/systems/{sid}/events", json={"events": events}).status_code == 202
    apply_and_evaluate()

    health = job_api.get(f"/systems/{sid}/health").json()
    raw = orjson.loads(client.hget(keys.verdicts(partition(client, sid)), str(sid)))
    assert raw[:2] == [health["health"], health["reason"]]
    assert raw[4] == 40 and raw[5] == health["error_rate"] == 0.25
    assert abs(raw[6] - health["p95_latency"]) <= 1e-4 * health["p95_latency"]  # 6 digits kept
    assert raw[7] == int(clock.now.timestamp() * 1000)  # the newest event it saw
    kept = recorded(job_settings)[sid]
    assert (kept.error_ratio, kept.p95_ms, kept.last_event_ms) == (0.25, raw[6], raw[7])


def test_a_window_without_events_records_no_figures(
    job_api: TestClient,
    client: redis.Redis,
    job_settings: Settings,
    apply_and_evaluate: Callable[..., dict[str, int]],
) -> None:
    sid = register(job_api, "quiet")
    apply_and_evaluate(sweep=True)

    raw = orjson.loads(client.hget(keys.verdicts(partition(client, sid)), str(sid)))
    assert raw[0] == "NO_DATA" and len(raw) == 4
    kept = recorded(job_settings)[sid]
    assert (kept.error_ratio, kept.p95_ms, kept.last_event_ms) == (None, None, None)
