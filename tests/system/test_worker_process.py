"""`lso worker` as a real process: SIGKILL mid-stream loses nothing, SIGTERM is graceful."""

import signal
import time

import pytest
import redis

from shared.store import keys
from tests.support.events import now_ms, row
from tests.support.processes import Spawn, kill_while_holding, output, run_lso, stop
from tests.support.store import append, backlog, fill, totals
from tests.support.wait import wait_for
from worker import streams

pytestmark = pytest.mark.process


def pending_of_others(client: redis.Redis) -> int:
    return int(client.xpending(keys.stream(0), keys.GROUP)["pending"])


def blocked_readers(client: redis.Redis) -> int:
    clients = client.client_list()
    return sum(c.get("cmd") == "xreadgroup" and "b" in c.get("flags", "") for c in clients)


def test_a_worker_killed_mid_stream_has_its_entries_reclaimed_with_exact_totals(
    client: redis.Redis, server_url: str, spawn: Spawn
) -> None:
    streams.ensure_groups(client, 1)
    expected = fill(client, systems=2, batches=150, size=200)
    env = {"LSO_REDIS_URL": server_url, "LSO_CLAIM_IDLE_MS": "500", "LSO_WORKER_BLOCK_MS": "100"}

    victim = spawn("worker", env={**env, "LSO_WORKER_READ_COUNT": "20"})

    held = kill_while_holding(victim, lambda: pending_of_others(client))
    assert held > 0, "the victim was killed while holding entries"
    assert backlog(client) > 0, "it was killed mid-stream"

    rescuer = spawn("worker", env=env)
    try:
        wait_for(lambda: backlog(client) == 0, 60, "the second worker to drain everything")
        assert pending_of_others(client) == 0
        assert {sid: totals(client, sid) for sid in expected} == expected
    finally:
        code = stop(rescuer)
    log = output(rescuer)
    assert code == 0, log
    assert "reclaimed" in log


def test_sigterm_finishes_the_batch_in_hand_and_exits_zero(
    client: redis.Redis, server_url: str, spawn: Spawn
) -> None:
    worker = spawn("worker", env={"LSO_REDIS_URL": server_url, "LSO_WORKER_BLOCK_MS": "100"})
    try:
        wait_for(lambda: client.zcard(keys.WORKERS), 30, "the worker's first heartbeat")
        ts = now_ms()
        append(client, 7, [row(ts, error=True), row(ts)])
        wait_for(lambda: totals(client, 7) == (2, 1), 30, "the batch to be applied")
    finally:
        code = stop(worker)
    log = output(worker)
    assert code == 0, log
    assert "stopped" in log
    assert client.zcard(keys.WORKERS) == 0, "a stopping worker removes its heartbeat"


def test_worker_check_reports_whether_a_worker_on_this_host_is_alive(
    server_url: str, spawn: Spawn
) -> None:
    env = {"LSO_REDIS_URL": server_url}
    assert run_lso("worker", "--check", env=env).returncode == 1
    worker = spawn("worker", env={**env, "LSO_WORKER_BLOCK_MS": "100"})
    try:
        wait_for(
            lambda: run_lso("worker", "--check", env=env).returncode == 0,
            30,
            "the check to see the worker",
        )
    finally:
        code = stop(worker)
    assert code == 0, output(worker)


def test_a_second_signal_exits_at_once(client: redis.Redis, server_url: str, spawn: Spawn) -> None:
    # A long blocking read: after the first signal the worker would wait for it to end.
    env = {"LSO_REDIS_URL": server_url, "LSO_WORKER_BLOCK_MS": "8000", "LSO_CLAIM_IDLE_MS": "20000"}
    worker = spawn("worker", env=env)
    wait_for(lambda: blocked_readers(client), 30, "the worker to block in XREADGROUP")
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(5) == 1
    assert time.monotonic() - started < 3
