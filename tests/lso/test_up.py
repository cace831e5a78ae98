"""`lso up` as a real process: serves, stops with no orphans, and keeps its data across restarts."""

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lso.embedded import free_port
from tests.lso.conftest import Spawn
from tests.lso.processes import alive, descendants, output, stop, wait_for

pytestmark = pytest.mark.process


def call(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def ready(port: int) -> bool:
    return call(port, "GET", "/readyz")[0] == 200


def health_total(port: int, system_id: int) -> int:
    return int(call(port, "GET", f"/systems/{system_id}/health")[1]["total"])


def test_lso_up_serves_stops_cleanly_and_keeps_data_across_restarts(
    spawn: Spawn, tmp_path: Path
) -> None:
    port, data_dir = free_port(), tmp_path / "data"
    argv = ("up", "--port", str(port), "--workers", "2", "--data-dir", str(data_dir))
    up = spawn(*argv, env={"LSO_CLAIM_IDLE_MS": "2000"})
    wait_for(lambda: ready(port), 60, "lso up to be ready")
    children = descendants(up.pid)
    assert len(children) >= 4, "store, API and two workers"

    status, system = call(port, "POST", "/systems", {"name": "nightly-etl"})
    assert status == 201
    sid = system["system_id"]
    ts = datetime.now(UTC).isoformat()
    events = [
        {"ts": ts, "event_type": "load", "status": "error" if i % 4 == 0 else "ok", "latency_ms": i}
        for i in range(200)
    ]
    assert call(port, "POST", f"/systems/{sid}/events", {"events": events}) == (
        202,
        {"accepted": 200},
    )
    wait_for(lambda: health_total(port, sid) == 200, 30, "the events to reach /health")

    code = stop(up)
    log = output(up)
    assert code == 0, log
    assert not [pid for pid in children if alive(pid)], f"orphans left behind:\n{log}"

    again = spawn(*argv, env={})
    wait_for(lambda: ready(port), 60, "lso up to be ready again")
    assert call(port, "GET", f"/systems/{sid}")[1]["name"] == "nightly-etl"
    health = call(port, "GET", f"/systems/{sid}/health")[1]
    assert (health["total"], health["errors"]) == (200, 50)
    assert call(port, "POST", "/systems", {"name": "nightly-etl"})[0] == 200
    assert stop(again) == 0


def test_a_second_lso_up_on_the_same_data_dir_is_refused(spawn: Spawn, tmp_path: Path) -> None:
    port = free_port()
    first = spawn("up", "--port", str(port), "--data-dir", str(tmp_path), env={})
    wait_for(lambda: ready(port), 60, "lso up to be ready")
    second = spawn("up", "--port", str(free_port()), "--data-dir", str(tmp_path), env={})
    assert second.wait(30) != 0
    assert "already using" in output(second)
    assert first.poll() is None
