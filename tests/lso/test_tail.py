"""`lso tail` against a real `lso up`: the newest events first, then each new event and error
as it comes, once each; `--errors` shows errors only; a system is named by id or name; Ctrl-C
ends it with 0; an unknown system is one clear line."""

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.lso.conftest import Looked, lso_env, run_lso
from tests.support.events import event
from tests.support.wait import wait_for

pytestmark = pytest.mark.process


class Tail:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            self.lines.append(text.rstrip("\n"))

    def showing(self, *words: str) -> list[str]:
        """The lines that hold every one of `words`."""
        return [text for text in list(self.lines) if all(w in text for w in words)]

    def wait_for(self, *words: str) -> str:
        found = wait_for(lambda: self.showing(*words), 30, f"a line with {words}")
        return found[0]

    def stop(self) -> int:
        """Ctrl-C; the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(10)

    def join(self) -> None:
        """Once the process ended: every line read, the pipe closed."""
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def tail(up: Looked, *args: str) -> Iterator[Tail]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lso.cli", "tail", *args, "--interval", "0.2",
         "--data-dir", str(up.data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=lso_env(),
    )  # fmt: skip
    following = Tail(process)
    try:
        yield following
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        following.join()


def send(up: Looked, system_id: int, *events: dict[str, object]) -> None:
    up.ok("POST", f"/systems/{system_id}/events", {"events": list(events)})


def test_tail_shows_the_newest_events_then_each_new_event_and_error_once(
    looked_at: Looked,
) -> None:
    sid = looked_at.register("tl-orders")
    send(looked_at, sid, event(datetime.now(UTC), event_type="before", latency_ms=5.0))
    wait_for(lambda: looked_at.ok("GET", f"/systems/{sid}/events")["events"], 30, "applied")
    with tail(looked_at, "tl-orders") as following:
        following.wait_for(f"events of tl-orders (system {sid})")
        following.wait_for("ok", "before", "5 ms")  # what came before: the newest first
        send(looked_at, sid, event(datetime.now(UTC), event_type="extract", latency_ms=12.0,
                                   stage="pull", run_id="r-1"))  # fmt: skip
        new = following.wait_for("extract")
        assert "ok" in new and "12 ms" in new and "stage=pull" in new and "run=r-1" in new
        failure = {"error": "duplicate key", "markup": "[red]x[/red]"}
        send(looked_at, sid, event(datetime.now(UTC), status="error", event_type="load",
                                   payload=failure))  # fmt: skip
        error = following.wait_for("ERROR", "load")
        assert '{"error":"duplicate key","markup":"[red]x[/red]"}' in error, "shown as sent"
        # Many polls later, each still shown once, and nothing else.
        polls = len(following.lines)
        send(looked_at, sid, event(datetime.now(UTC), event_type="marker"))
        following.wait_for("marker")
        assert len(following.lines) == polls + 1
        assert [len(following.showing(w)) for w in ("before", "extract", "duplicate")] == [1, 1, 1]
        assert following.stop() == 0
    assert not following.showing("Traceback")


def test_tail_errors_only_by_id(looked_at: Looked) -> None:
    sid = looked_at.register("tl-errors")
    with tail(looked_at, str(sid), "--errors") as following:
        following.wait_for(f"errors of tl-errors (system {sid})")
        now = datetime.now(UTC)
        send(looked_at, sid, event(now, event_type="fine"),
             event(now, status="error", event_type="broken"))  # fmt: skip
        following.wait_for("ERROR", "broken")
        send(looked_at, sid, event(datetime.now(UTC), status="error", event_type="again"))
        following.wait_for("ERROR", "again")
        assert not following.showing("fine"), "an ok event in an --errors tail"
        assert following.stop() == 0


def test_an_unknown_system_is_one_clear_line(looked_at: Looked, tmp_path: Path) -> None:
    for name in ("tl-nope", "987654"):
        result = run_lso("tail", name, "--data-dir", str(looked_at.data_dir), cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip() == f"lso: no system '{name}' that this key may read"
