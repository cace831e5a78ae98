"""Deliveries by status for GET /metrics: the jobs count each delivery queued and each attempt's
outcome in the store, where a scrape of any API process reads them."""

from collections.abc import Callable

import redis
from fastapi.testclient import TestClient

from shared.store import keys
from tests.support.jobs import MakeSystem, RunJobs, Send
from tests.support.receiver import Receiver


def test_a_delivery_that_succeeds_on_its_third_try_is_counted_queued_retrying_delivered(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
    client: redis.Redis,
) -> None:
    sid, _ = make_system("webhook")
    receiver.script = [500, 503]
    send(sid, 20, "error")
    apply_and_evaluate()

    run_jobs(until=lambda: client.hget(keys.METRICS_DELIVERIES, "delivered") == b"1")
    assert client.hgetall(keys.METRICS_DELIVERIES) == {
        b"queued": b"1",
        b"retrying": b"2",
        b"delivered": b"1",
    }
    scraped = job_api.get("/metrics").text
    assert 'lso_deliveries_total{status="retrying"} 2.0' in scraped
