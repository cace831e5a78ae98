"""Fixtures of the job tests: settings for the jobs on the test's clock, the API on that same
clock, systems watched by the local receiver, and a way to run the queued jobs (with rq's
scheduler, for the delayed retries) until something holds.

The jobs read the time from `worker.jobs.context` and the API from `app.state.clock`; both are the
test's `clock`, so a window passes when the test moves the clock, not while it sleeps. Only rq's
retry delays run on the real clock."""

from collections.abc import Callable, Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from shared.settings import Settings
from tests.support.api import add_channels, register
from tests.support.clock import Clock
from tests.support.events import batch
from tests.support.jobs import MakeSystem, RunJobs, Send, run_queued
from tests.support.receiver import Receiver
from tests.support.settings import make_settings
from tests.support.wait import wait_for
from worker.consumer import Worker
from worker.jobs import context, evaluate

JOB_SETTINGS = {
    "allow_private_webhooks": True,  # the receiver is on loopback
    "notify_min_interval_s": 0,
    "notify_retry_base_s": 1,
    "notify_max_attempts": 3,
}
WATCHED_POLICY = {"window_seconds": 60}


@pytest.fixture
def job_settings(settings: Settings, clock: Clock) -> Iterator[Settings]:
    s = make_settings(settings.redis_url, **JOB_SETTINGS)
    context.configure(s, clock=clock)
    yield s
    context.configure(Settings())


@pytest.fixture
def job_api(make_api: Callable[..., TestClient], job_settings: Settings) -> TestClient:
    """The API on the test's clock, which the jobs read too."""
    return make_api(**JOB_SETTINGS)


@pytest.fixture
def send(job_api: TestClient, clock: Clock) -> Send:
    """`send(system_id, 20, "error")`: 20 events of that status at the clock's time, accepted."""

    def post(system_id: int, n: int, status: str) -> None:
        response = job_api.post(f"/systems/{system_id}/events", json=batch(clock.now, n, status))
        assert response.status_code == 202, response.text

    return post


@pytest.fixture
def make_system(job_api: TestClient, receiver: Receiver) -> MakeSystem:
    """`make_system("webhook", "slack")`: a system with a 60-s window (named "orders-etl" unless
    `name=` says otherwise) and one channel per kind at the receiver (path /<kind>); returns its
    id and the channels' secrets by kind."""

    def make(*kinds: str, name: str = "orders-etl") -> tuple[int, dict[str, str]]:
        sid = register(job_api, name, policy=WATCHED_POLICY)
        return sid, add_channels(job_api, sid, receiver.url, kinds)

    return make


@pytest.fixture
def run_jobs(job_settings: Settings) -> RunJobs:
    """`run_jobs()`: run what is queued; `run_jobs(until=probe)`: keep running queued and due
    scheduled jobs until `probe()` holds (fails after `timeout_s`)."""

    def run(until: Callable[[], bool] | None = None, timeout_s: float = 20.0) -> None:
        def ran_until() -> bool:
            run_queued()
            return until is None or until()

        wait_for(ran_until, timeout_s, "the jobs to get there", interval_s=0.1)

    return run


@pytest.fixture
def apply_and_evaluate(
    job_settings: Settings, client: redis.Redis
) -> Callable[..., dict[str, int]]:
    """Apply what the API appended (a burst worker), then one evaluation pass."""

    def run(sweep: bool = False) -> dict[str, int]:
        Worker(client, job_settings, burst=True).run()
        return evaluate.evaluate(sweep=sweep)

    return run
