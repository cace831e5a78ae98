"""`lso-run` (the console script): reports the command as one run and exits with its status."""

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lso.embedded import free_port
from tests.client.fake_lso import FakeLSO
from tests.support.wait import wait_for

LSO_RUN = str(Path(sys.executable).with_name("lso-run"))


def lso_run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "LSO_URL": url, "LSO_KEY": "test-key"}
    return subprocess.run([LSO_RUN, *args], env=env, capture_output=True, text=True, timeout=60)


def run_events(fake: FakeLSO) -> list[dict[str, Any]]:
    return [e for p in fake.posts() for e in p.events]


@pytest.mark.parametrize(
    ("command", "status"),
    [(["true"], 0), (["sh", "-c", "exit 3"], 3), (["sh", "-c", "kill -TERM $$"], 128 + 15)],
)
def test_the_command_is_reported_as_one_run_and_its_status_is_the_exit_status(
    fake: FakeLSO, command: list[str], status: int
) -> None:
    fake.names = {"orders-etl": 7}
    done = lso_run(fake.url, "--system", "orders-etl", "--", *command)
    assert done.returncode == status, done.stderr
    events = run_events(fake)
    assert [e["event_type"] for e in events] == ["run_start", "run", "run_end"]
    assert len({e["run_id"] for e in events}) == 1
    expected = "ok" if status == 0 else "error"
    assert [e["status"] for e in events] == ["ok", expected, expected]
    assert events[1]["payload"] == {"exit_status": status, "command": Path(command[0]).name}
    assert events[1]["latency_ms"] == events[2]["latency_ms"] > 0
    assert fake.posts()[0].path == "/systems/7/events"


def test_a_command_that_is_not_found_exits_127_and_is_reported_failed(fake: FakeLSO) -> None:
    done = lso_run(fake.url, "--system-id", "7", "--run-id", "nightly-1", "--", "no-such-command")
    assert done.returncode == 127 and "not found" in done.stderr
    events = run_events(fake)
    assert [(e["event_type"], e["status"]) for e in events] == [
        ("run_start", "ok"), ("run", "error"), ("run_end", "error"),
    ]  # fmt: skip
    assert {e["run_id"] for e in events} == {"nightly-1"}


def test_an_unreachable_lso_is_a_warning_and_the_status_is_the_commands() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    done = lso_run(url, "--system-id", "7", "--timeout-s", "1", "--", "sh", "-c", "exit 4")
    assert done.returncode == 4
    assert time.monotonic() - started < 15
    assert "not reported to LSO" in done.stderr


def test_without_a_command_it_says_how_to_call_it() -> None:
    done = lso_run("http://127.0.0.1:1", "--system", "x")
    assert done.returncode == 2 and "no command given" in done.stderr


def test_a_sigterm_to_lso_run_reaches_the_command_and_the_run_is_reported(fake: FakeLSO) -> None:
    env = {"PATH": "/usr/bin:/bin", "LSO_URL": fake.url, "LSO_KEY": "test-key"}
    wrapper = subprocess.Popen(
        [LSO_RUN, "--system-id", "7", "--", "sh", "-c", "exec sleep 30"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: [e for e in run_events(fake) if e["event_type"] == "run_start"], 10,
                 "the run's start")  # fmt: skip
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(20) == 128 + signal.SIGTERM
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
        wrapper.communicate(timeout=10)
    ended = [e for e in run_events(fake) if e["event_type"] == "run"]
    assert ended[0]["payload"]["exit_status"] == 143 and ended[0]["status"] == "error"
