"""The `lso` commands against a real `lso up`: they find its store through its data dir, and when
there is no `lso up` or its store is gone each says so in one line on stderr, never a traceback."""

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lso import local
from lso.embedded import free_port
from tests.support.processes import REPO, Spawn, alive, descendants, output, stop
from tests.support.wait import wait_for

pytestmark = pytest.mark.process

# Every command that talks to the store and ends on its own when the store is missing or silent.
STORE_COMMANDS = [("partitions",), ("worker", "--check"), ("worker",), ("jobs", "--burst")]


def lso(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    """`lso <args>` with no LSO_ variable of ours, only `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LSO_")}
    return subprocess.run(
        [sys.executable, "-m", "lso.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that failed without a traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lso: "), result.stderr
    return lines[0]


def ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    finally:
        conn.close()


def up(spawn: Spawn, data_dir: Path, *extra: str, port: int = 0) -> subprocess.Popen[bytes]:
    """`lso up` on `data_dir` with one worker, once it has recorded its store."""
    argv = ("up", "--port", str(port or free_port()), "--workers", "1", "--job-processes", "0")
    process = spawn(*argv, "--data-dir", str(data_dir), *extra, env={})
    wait_for(lambda: (data_dir / local.RECORD).exists(), 60, "lso up to record its store")
    return process


def test_commands_use_the_store_of_the_lso_up_on_their_data_dir(
    spawn: Spawn, tmp_path: Path
) -> None:
    data_dir = tmp_path / ".lso"
    running = up(spawn, data_dir)
    record = data_dir / local.RECORD
    assert record.stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert json.loads(record.read_text())["cluster"] is False

    shown = lso("partitions", "--data-dir", str(data_dir))
    assert shown.returncode == 0, shown.stderr
    assert "ingest streams: 4; systems registered: 0" in shown.stdout
    assert lso("partitions", cwd=tmp_path).stdout == shown.stdout, "./.lso by default"
    wait_for(
        lambda: lso("worker", "--check", "--data-dir", str(data_dir)).returncode == 0,
        30,
        "the check to see the worker of lso up",
    )
    jobs = lso("jobs", "--burst", cwd=tmp_path)
    assert jobs.returncode == 0, jobs.stderr
    port = free_port()
    api = spawn("api", "--port", str(port), "--data-dir", str(data_dir), env={})
    wait_for(lambda: ready(port), 30, "a second API on the store of lso up to be ready")
    stop(api)  # uvicorn re-raises the SIGTERM it handled: the code is -15, not 0

    elsewhere = f"redis://127.0.0.1:{free_port()}/0"
    error = one_line_error(lso("partitions", cwd=tmp_path, LSO_REDIS_URL=elsewhere))
    assert error.startswith(f"lso: cannot reach the store at {elsewhere} ("), "the URL set wins"
    assert error.endswith("check LSO_REDIS_URL")

    assert stop(running) == 0, output(running)
    assert not record.exists(), "a stopped lso up leaves no address behind"
    for command in [*STORE_COMMANDS, ("api", "--port", str(free_port()))]:
        error = one_line_error(lso(*command, cwd=tmp_path))
        assert error.startswith(f"lso: no running `lso up` found in {data_dir}"), command


def test_with_the_store_of_lso_up_gone_every_command_says_so_in_one_line(
    spawn: Spawn, tmp_path: Path
) -> None:
    data_dir, port = tmp_path / ".lso", free_port()
    running = up(spawn, data_dir, port=port)
    # Every child started (they share lso up's output pipe, which closes once all are gone).
    wait_for(lambda: ready(port), 60, "the API of lso up")
    wait_for(lambda: lso("worker", "--check", cwd=tmp_path).returncode == 0, 30, "its worker")
    children = descendants(running.pid)
    # Killed outright, lso up leaves its record; its children (the store too) die with it.
    running.send_signal(signal.SIGKILL)
    running.wait(10)
    wait_for(lambda: not any(alive(pid) for pid in children), 30, "the children to die")
    assert (data_dir / local.RECORD).exists()

    for command in STORE_COMMANDS:
        error = one_line_error(lso(*command, "--data-dir", str(data_dir)))
        assert error.startswith("lso: cannot reach the store at "), command
        assert error.endswith(
            "is `lso up` running? start it with scripts/run, or set LSO_REDIS_URL"
        ), command


@pytest.mark.cluster
def test_commands_find_the_embedded_cluster_of_lso_up(spawn: Spawn, tmp_path: Path) -> None:
    data_dir = tmp_path / ".lso"
    running = up(spawn, data_dir, "--cluster", "3")
    record = json.loads((data_dir / local.RECORD).read_text())
    assert record["cluster"] is True
    shown = lso("partitions", "--data-dir", str(data_dir))
    assert shown.returncode == 0, shown.stderr
    assert "ingest streams: 4" in shown.stdout
    wait_for(
        lambda: lso("worker", "--check", cwd=tmp_path).returncode == 0,
        30,
        "the check to see the worker on the cluster",
    )
    assert stop(running) == 0, output(running)
