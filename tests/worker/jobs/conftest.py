"""Fixtures of the job tests: a local HTTP receiver, settings for the jobs, and a way to run the
queued jobs (with rq's scheduler, for the delayed retries) until something holds."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from shared.settings import Settings
from shared.store import jobqueue
from tests.conftest import make_settings
from worker.consumer import Worker
from worker.jobs import context, evaluate

JOB_SETTINGS = {
    "allow_private_webhooks": True,  # the receiver is on loopback
    "notify_min_interval_s": 0,
    "notify_retry_base_s": 1,
    "notify_max_attempts": 3,
}


@pytest.fixture
def job_settings(settings: Settings) -> Iterator[Settings]:
    s = make_settings(settings.redis_url, **JOB_SETTINGS)
    context.configure(s)
    yield s
    context.configure(get_default())


def get_default() -> Settings:
    return Settings()


@pytest.fixture
def job_api(make_api: Callable[..., TestClient], job_settings: Settings) -> TestClient:
    """The API on the real clock: the evaluator judges by the real time too."""
    api = make_api(**JOB_SETTINGS)
    api.app.state.clock = lambda: datetime.now(UTC)  # type: ignore[attr-defined]
    return api


RunJobs = Callable[..., None]


@pytest.fixture
def run_jobs(job_settings: Settings) -> RunJobs:
    """`run_jobs()`: run what is queued; `run_jobs(until=probe)`: keep running queued and due
    scheduled jobs until `probe()` holds (fails after `timeout_s`)."""

    def run(until: Callable[[], bool] | None = None, timeout_s: float = 20.0) -> None:
        queues = [context.queue(name) for name in jobqueue.QUEUES]
        deadline = time.monotonic() + timeout_s
        while True:
            worker = SimpleWorker(queues, connection=context.rq_connection())
            worker.death_penalty_class = TimerDeathPenalty  # no SIGALRM: pytest-timeout has it
            worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
            if until is None or until():
                return
            assert time.monotonic() < deadline, "the jobs did not get there in time"
            time.sleep(0.1)

    return run


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def events(n: int, status: str) -> dict[str, Any]:
    return {"events": [{"ts": now_iso(), "event_type": "load", "status": status,
                        "latency_ms": 5} for _ in range(n)]}  # fmt: skip


@pytest.fixture
def apply_and_evaluate(
    job_settings: Settings, client: redis.Redis
) -> Callable[..., dict[str, int]]:
    """Apply what the API appended (a burst worker), then one evaluation pass."""

    def run(sweep: bool = False) -> dict[str, int]:
        Worker(client, job_settings, burst=True).run()
        return evaluate.evaluate(sweep=sweep)

    return run
