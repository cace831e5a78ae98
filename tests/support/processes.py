"""Helpers for tests that run `lso` commands as real processes."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[2]
# The `spawn` fixture (tests/conftest.py): `spawn("worker", env={...})`, stopped after the test.
Spawn = Callable[..., subprocess.Popen[bytes]]


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    """Ours without any LSO_ variable, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LSO_")}, **extra}


def spawn_lso(*args: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start `lso <args>` in the background; read its log with `output()` once it has ended."""
    return subprocess.Popen(
        [sys.executable, "-m", "lso.cli", *args],
        cwd=REPO,
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_lso(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lso.cli", *args],
        cwd=REPO,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    """SIGTERM, wait; SIGKILL if it does not stop. Returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout_s)


def output(process: subprocess.Popen[bytes]) -> str:
    """Everything an ended process printed (closes its pipe)."""
    out, _ = process.communicate(timeout=10)
    return out.decode(errors="replace")


def kill_while_holding(victim: subprocess.Popen[bytes], held: Callable[[], int]) -> int:
    """SIGKILL the worker `victim` at a moment when `held()` (the entries it holds) is above 0;
    returns `held()` after the kill.

    A worker applies a read in milliseconds: it is frozen first, then looked at, so it cannot
    acknowledge what it holds between the look and the kill (scripts it already sent get 50 ms to
    land)."""

    def frozen_holding_entries() -> bool:
        victim.send_signal(signal.SIGSTOP)
        time.sleep(0.05)
        if held() > 0:
            return True
        victim.send_signal(signal.SIGCONT)
        time.sleep(0.002)
        return False

    wait_for(frozen_holding_entries, 30, "the worker to hold entries")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    return held()
