"""The SDK against a real `lso up` (store, API, worker as processes): runs shown finished at once
with their outcome and duration and counted once in health, every event counted exactly once
across a 5 s store pause, a full buffer dropping and counting, a forked child reporting, lso-run."""

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lso.embedded import binary_path
from lso_client import LSOClient
from tests.support.processes import descendants
from tests.support.up import Up, lso_up
from tests.support.wait import wait_for

pytestmark = pytest.mark.process
LSO_RUN = str(Path(sys.executable).with_name("lso-run"))


class Deployment(Up):
    def json(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """The JSON answer of a request that must succeed."""
        status, answer = self.call(method, path, body, token)
        assert status // 100 == 2, f"{method} {path}: {status} {answer!r}"
        return answer

    def system_id(self, name: str) -> int:
        found = [s for s in self.json("GET", "/systems")["systems"] if s["name"] == name]
        assert found, f"no system {name!r}"
        return int(found[0]["system_id"])

    def health(self, system_id: int) -> dict[str, Any]:
        return self.json("GET", f"/systems/{system_id}/health?window_seconds=3600")  # type: ignore[no-any-return]

    def runs(self, system_id: int) -> list[dict[str, Any]]:
        return self.json("GET", f"/systems/{system_id}/runs")["runs"]  # type: ignore[no-any-return]

    def store_pid(self) -> int:
        binary = binary_path().resolve()
        for pid in descendants(self.process.pid):
            try:
                if Path(f"/proc/{pid}/exe").resolve() == binary:
                    return pid
            except OSError:
                continue
        raise AssertionError("no embedded store below lso up")


@pytest.fixture(scope="module")
def lso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with lso_up(tmp_path_factory.mktemp("lso-up") / "data", kind=Deployment) as up:
        yield up


def counted(lso: Deployment, system_id: int, total: int) -> dict[str, Any]:
    """The system's health once it counts `total` events (and still after a moment)."""
    wait_for(lambda: lso.health(system_id)["total"] >= total, 30, f"{total} events counted")
    time.sleep(0.3)  # anything counted twice would have been applied by now
    return lso.health(system_id)


def test_three_runs_one_failing_show_their_outcome_and_duration_at_once(lso: Deployment) -> None:
    client = LSOClient(lso.url, lso.admin)
    runs = []
    for extract_s, load_s in [(0.2, 0.3), (0.1, 0.1)]:
        with client.run("sdk-three-runs") as run:
            with run.stage("extract"):
                time.sleep(extract_s)
            with run.stage("load"):
                time.sleep(load_s)
        runs.append(run)
    with (
        pytest.raises(ValueError),
        client.run("sdk-three-runs") as failing,
        failing.stage("extract"),
    ):
        time.sleep(0.2)
        raise ValueError("source table missing")
    runs.append(failing)
    assert client.flush(30) and (client.sent, client.rejected, client.unresolved) == (11, 0, 0)
    sid = lso.system_id("sdk-three-runs")

    def finished() -> list[dict[str, Any]] | None:
        shown = {r["run_id"]: r for r in lso.runs(sid)}
        done = [shown.get(run.run_id) for run in runs]
        return done if all(r and r["outcome"] != "running" for r in done) else None  # type: ignore[return-value]

    shown = wait_for(finished, 30, "the three runs to be finished")
    assert [r["outcome"] for r in shown] == ["succeeded", "succeeded", "failed"]
    for run, summary in zip(runs, shown, strict=True):
        assert run.duration_s is not None
        assert summary["duration_seconds"] == pytest.approx(run.duration_s, abs=0.02)
    assert [r["events"] for r in shown] == [2, 2, 1], "markers are not events of the run"
    assert [r["errors"] for r in shown] == [0, 0, 1]
    health = counted(lso, sid, 5)
    assert (health["total"], health["errors"]) == (5, 1), "each stage once, no marker"
    assert health["stages"]["extract"]["total"] == 3 and health["stages"]["load"]["total"] == 2
    # p99 is a stage's latency (<= 0.3 s), never a whole run's (0.5 s)
    assert health["p99_latency"] < 400
    assert client.close(10)


def test_a_run_without_stages_is_counted_once_by_its_run_event(lso: Deployment) -> None:
    with LSOClient(lso.url, lso.admin) as client:
        with client.run("sdk-no-stages") as run:
            time.sleep(0.1)
        assert client.flush(30)
    sid = lso.system_id("sdk-no-stages")
    health = counted(lso, sid, 1)
    assert (health["total"], health["errors"]) == (1, 0)
    assert lso.runs(sid)[0]["run_id"] == run.run_id
    assert lso.runs(sid)[0]["outcome"] == "succeeded"


@pytest.mark.slow
def test_every_event_is_counted_once_across_a_five_second_store_pause(lso: Deployment) -> None:
    client = LSOClient(lso.url, lso.admin, batch_events=50, flush_interval_s=0.1)
    stop_reporting = threading.Event()
    reported = [0]

    def pipeline() -> None:
        with client.run("sdk-store-pause") as run:
            while not stop_reporting.is_set():
                with run.stage("load"):
                    time.sleep(0.002)
                reported[0] += 1

    worker = threading.Thread(target=pipeline)
    worker.start()
    store = lso.store_pid()
    try:
        wait_for(lambda: client.sent > 200, 30, "events accepted before the pause")
        os.kill(store, signal.SIGSTOP)
        time.sleep(5)
        sent_during_pause = client.sent
        os.kill(store, signal.SIGCONT)
        wait_for(lambda: client.sent > sent_during_pause + 200, 60, "events after the pause")
    finally:
        os.kill(store, signal.SIGCONT)
        stop_reporting.set()
        worker.join(30)
    assert client.flush(60), "everything taken in the end"
    assert (client.dropped, client.rejected, client.unresolved) == (0, 0, 0)
    sid = lso.system_id("sdk-store-pause")
    health = counted(lso, sid, reported[0])
    assert health["total"] == reported[0], "every stage event exactly once"
    assert client.sent == reported[0] + 2, "and the two markers"
    assert lso.runs(sid)[0]["outcome"] == "succeeded"
    assert client.close(10)


def test_a_full_buffer_drops_and_counts_while_lso_cannot_take_events(lso: Deployment) -> None:
    client = LSOClient(lso.url, lso.admin, max_buffered_events=500, warn_interval_s=3600)
    client.event("sdk-full-buffer", "warm-up")  # resolved and registered before the pause
    assert client.flush(30)
    store = lso.store_pid()
    os.kill(store, signal.SIGSTOP)
    try:
        queued = sum(client.event("sdk-full-buffer", "load") for _ in range(5000))
        assert (queued, client.dropped) == (500, 4500)
        assert client.pending == 500, "queued and in flight together stay within the bound"
    finally:
        os.kill(store, signal.SIGCONT)
    assert client.flush(60)
    assert (client.sent, client.dropped) == (501, 4500)
    health = counted(lso, lso.system_id("sdk-full-buffer"), 501)
    assert health["total"] == 501
    assert client.close(10)


def test_a_forked_child_reports_its_own_run(lso: Deployment) -> None:
    client = LSOClient(lso.url, lso.admin)
    with client.run("sdk-fork") as parent_run, parent_run.stage("parent"):
        pass
    assert client.flush(30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, on 3.12+
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with client.run("sdk-fork", run_id=f"child-{os.getpid()}") as run, run.stage("child"):
                pass
            code = 0 if client.flush(30) and client.sent == 3 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sid = lso.system_id("sdk-fork")
    health = counted(lso, sid, 2)
    assert health["total"] == 2 and set(health["stages"]) == {"parent", "child"}
    outcomes = {r["run_id"]: r["outcome"] for r in lso.runs(sid)}
    assert outcomes == {parent_run.run_id: "succeeded", f"child-{pid}": "succeeded"}
    assert client.close(10)


def test_lso_run_reports_a_failing_script(lso: Deployment) -> None:
    env = {"PATH": os.environ["PATH"], "LSO_URL": lso.url, "LSO_KEY": lso.admin}
    done = subprocess.run(
        [LSO_RUN, "--system", "sdk-lso-run", "--", "sh", "-c", "sleep 0.3; exit 3"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    sid = lso.system_id("sdk-lso-run")
    run = wait_for(lambda: [r for r in lso.runs(sid) if r["outcome"] != "running"], 30, "the run")
    assert run[0]["outcome"] == "failed" and run[0]["duration_seconds"] >= 0.3
    health = counted(lso, sid, 1)
    assert (health["total"], health["errors"]) == (1, 1)
    assert health["last_error"]["event_type"] == "run"


def test_an_ingest_key_reports_to_its_system_by_name(lso: Deployment) -> None:
    """GET /systems/by-name/{name} answers for a key that may ingest into the system."""
    system = lso.json("POST", "/systems", {"name": "sdk-by-name"})
    key = system["ingest_key"]["token"]
    with LSOClient(lso.url, key) as client:
        client.event("sdk-by-name", "load", latency_ms=5)
        client.event("sdk-not-this-keys", "load")
        assert client.flush(30)
        assert (client.sent, client.unresolved) == (1, 1), client.__dict__
    health = counted(lso, system["system_id"], 1)
    assert health["total"] == 1


def test_a_namespace_key_registers_and_reports_to_names_under_its_namespace(
    lso: Deployment,
) -> None:
    key = lso.json("POST", "/keys", {"kind": "namespace", "namespace": "sdk-team"})["token"]
    with LSOClient(lso.url, key) as client:
        with client.run("sdk-team/orders:nightly") as run, run.stage("load"):
            pass
        client.event("sdk-elsewhere/orders", "load")  # outside its namespace: refused
        assert client.flush(30)
        assert (client.sent, client.unresolved, client.rejected) == (3, 1, 0)
    sid = lso.system_id("sdk-team/orders:nightly")
    assert counted(lso, sid, 1)["total"] == 1
    assert lso.runs(sid)[0]["outcome"] == "succeeded"
