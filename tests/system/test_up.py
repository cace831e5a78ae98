"""`lso up` as a real process: serves, stops with no orphans, and keeps its data across restarts."""

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lso.embedded import free_port
from tests.support.events import event
from tests.support.processes import Spawn, alive, descendants, output, stop
from tests.support.wait import wait_for

pytestmark = pytest.mark.process


def call(
    port: int, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def ready(port: int) -> bool:
    return call(port, "GET", "/readyz")[0] == 200


def health_total(port: int, system_id: int, token: str) -> int:
    return int(call(port, "GET", f"/systems/{system_id}/health", token=token)[1]["total"])


def test_lso_up_serves_stops_cleanly_and_keeps_data_across_restarts(
    spawn: Spawn, tmp_path: Path
) -> None:
    port, data_dir = free_port(), tmp_path / "data"
    argv = ("up", "--port", str(port), "--workers", "2", "--data-dir", str(data_dir))
    up = spawn(*argv, env={"LSO_CLAIM_IDLE_MS": "2000"})
    wait_for(lambda: ready(port), 60, "lso up to be ready")
    children = descendants(up.pid)
    assert len(children) >= 4, "store, API and two workers"
    admin = (data_dir / "admin-token").read_text().strip()
    assert (data_dir / "admin-token").stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert call(port, "POST", "/systems", {"name": "nightly-etl"})[0] == 401

    status, system = call(port, "POST", "/systems", {"name": "nightly-etl"}, admin)
    assert status == 201
    sid = system["system_id"]
    ingest = system["ingest_key"]["token"]
    now = datetime.now(UTC)
    events = [event(now, status="error" if i % 4 == 0 else "ok", latency_ms=i) for i in range(200)]
    assert call(port, "POST", f"/systems/{sid}/events", {"events": events}, ingest) == (
        202,
        {"accepted": 200},
    )
    wait_for(lambda: health_total(port, sid, admin) == 200, 30, "the events to reach /health")

    code = stop(up)
    log = output(up)
    assert code == 0, log
    assert not [pid for pid in children if alive(pid)], f"orphans left behind:\n{log}"
    assert f"LSO admin key: {admin}" in log and admin not in log.replace(
        f"LSO admin key: {admin}", ""
    ), "the key is shown once on the terminal, never in a log line"

    again = spawn(*argv, env={})
    wait_for(lambda: ready(port), 60, "lso up to be ready again")
    assert call(port, "GET", f"/systems/{sid}", token=admin)[1]["name"] == "nightly-etl"
    health = call(port, "GET", f"/systems/{sid}/health", token=admin)[1]
    assert (health["total"], health["errors"]) == (200, 50)
    assert call(port, "POST", "/systems", {"name": "nightly-etl"}, admin)[0] == 200
    assert call(port, "POST", f"/systems/{sid}/events", {"events": events}, ingest)[0] == 202
    channel = {"kind": "webhook", "url": "https://93.184.215.14/hook"}  # its secret goes in the AOF
    assert call(port, "POST", f"/systems/{sid}/channels", channel, admin)[0] == 201
    assert stop(again) == 0
    log = output(again)
    assert "LSO admin key:" not in log and admin not in log, "printed once, when it was made"
    assert f"admin key kept in {data_dir / 'admin-token'}" in log
    loose = [
        (str(path), oct(path.stat().st_mode & 0o777))
        for path in [data_dir, *data_dir.rglob("*")]
        if not path.is_socket() and path.stat().st_mode & 0o077
    ]
    assert loose == [], "the data dir and everything in it are its owner's alone"


def test_a_second_lso_up_on_the_same_data_dir_is_refused(spawn: Spawn, tmp_path: Path) -> None:
    port = free_port()
    first = spawn("up", "--port", str(port), "--data-dir", str(tmp_path), env={})
    wait_for(lambda: ready(port), 60, "lso up to be ready")
    second = spawn("up", "--port", str(free_port()), "--data-dir", str(tmp_path), env={})
    assert second.wait(30) != 0
    assert "already using" in output(second)
    assert first.poll() is None


@pytest.mark.cluster
def test_lso_up_with_an_embedded_cluster_serves_and_keeps_data_across_restarts(
    spawn: Spawn, tmp_path: Path
) -> None:
    port, data_dir = free_port(), tmp_path / "data"
    argv = ("up", "--port", str(port), "--cluster", "3", "--data-dir", str(data_dir))
    up = spawn(*argv, env={})
    wait_for(lambda: ready(port), 60, "lso up --cluster to be ready")
    admin = (data_dir / "admin-token").read_text().strip()
    status, system = call(port, "POST", "/systems", {"name": "on-a-cluster"}, admin)
    assert status == 201
    sid, ingest = system["system_id"], system["ingest_key"]["token"]
    events = [event(datetime.now(UTC), latency_ms=3)] * 50
    assert call(port, "POST", f"/systems/{sid}/events", {"events": events}, ingest)[0] == 202
    wait_for(lambda: health_total(port, sid, admin) == 50, 30, "the events in /health")
    assert stop(up) == 0, output(up)

    again = spawn(*argv, env={})
    wait_for(lambda: ready(port), 60, "the restarted cluster to be ready")
    assert health_total(port, sid, admin) == 50
    assert stop(again) == 0, output(again)
    assert len(list((data_dir / "cluster").glob("node-*/nodes.conf"))) == 3
