"""Deleting a system (202, then a purge job) and the retention job, against a real server."""

from collections.abc import Callable

import redis
from fastapi.testclient import TestClient

from shared.store import keys
from tests.support.api import register
from tests.support.clock import Clock
from tests.support.jobs import MakeSystem, RunJobs, Send
from tests.support.store import partition
from worker.consumer import Worker
from worker.jobs import context, maintenance


def system_keys(client: redis.Redis, p: int, sid: int) -> list[bytes]:
    """Every key of the system's data (its tombstone aside)."""
    found = [k for k in client.scan_iter(match=f"lso:{{p{p}}}:*:{sid}*", count=1000)]
    return sorted(k for k in found if b":deleted:" not in k)


def test_a_deleted_system_is_gone_at_once_and_its_data_purged_even_with_events_in_flight(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
    client: redis.Redis,
) -> None:
    sid, _ = make_system("webhook")
    other = register(job_api, "kept")
    for target in (sid, other):
        send(target, 10, "error")
    apply_and_evaluate()
    run_jobs()
    p = partition(client, sid)
    assert len(system_keys(client, p, sid)) > 5
    send(sid, 7, "ok")  # accepted: still in the stream when the system is deleted

    deleted = job_api.delete(f"/systems/{sid}")
    assert deleted.status_code == 202 and deleted.json()["name"] == "orders-etl"
    assert job_api.get(f"/systems/{sid}/health").status_code == 404
    assert job_api.delete(f"/systems/{sid}").status_code == 404
    assert job_api.get(f"/systems/{sid}/channels").status_code == 404
    run_jobs()
    Worker(client, context.settings(), burst=True).run()  # the late entry is dropped, not applied
    assert system_keys(client, p, sid) == []
    assert job_api.get(f"/systems/{other}/health").json()["total"] == 10
    again = job_api.post("/systems", json={"name": "orders-etl"})
    assert again.status_code == 201 and again.json()["system_id"] > sid, "the name is free again"


def test_retention_removes_what_no_write_trims_any_more(
    job_api: TestClient, run_jobs: RunJobs, client: redis.Redis, clock: Clock
) -> None:
    sid = register(job_api, "quiet")
    p = partition(client, sid)
    now_ms = clock.now_ms  # what the retention job takes for now
    old_ms = now_ms - (context.settings().raw_retention_s + 3600) * 1000
    client.zadd(keys.raw_events(p, sid), {'["old",[]]': old_ms, '["new",[]]': now_ms})
    client.zadd(keys.runs(p, sid), {"ancient-run": 1, "fresh-run": now_ms})
    assert maintenance.retention()["removed"] == 2
    assert client.zrange(keys.raw_events(p, sid), 0, -1) == [b'["new",[]]']
    assert client.zrange(keys.runs(p, sid), 0, -1) == [b"fresh-run"]
