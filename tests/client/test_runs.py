"""What runs and stages report (lso_client/runs.py): markers around the run, one counted event per
stage, and one counted `run` event exactly when no stage already counts the run's result."""

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest

import lso_client
from lso_client.events import Status
from lso_client.runs import Run


class Recorder:
    """Stands in for the client: keeps what runs report, as keyword arguments."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def event(
        self,
        system: int | str,
        event_type: str = "event",
        *,
        status: Status = "ok",
        latency_ms: float = 0.0,
        ts: datetime | float | None = None,
        run_id: str | None = None,
        stage: str | None = None,
        payload: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> bool:
        self.events.append(
            {"system": system, "event_type": event_type, "status": status, "latency_ms": latency_ms,
             "ts": ts, "run_id": run_id, "stage": stage, "payload": payload}
        )  # fmt: skip
        return True

    def run(self, system: int | str, run_id: str | None = None) -> Run:
        return Run(self, system, run_id)

    def kinds(self) -> list[tuple[str, str | None, str]]:
        return [(e["event_type"], e["stage"], e["status"]) for e in self.events]


@pytest.fixture
def client() -> Recorder:
    return Recorder()


def test_a_run_of_stages_that_succeeds_is_counted_by_its_stages(client: Recorder) -> None:
    with client.run("orders-etl") as run:
        with run.stage("extract"):
            pass
        with run.stage("load"):
            pass
    assert client.kinds() == [
        ("run_start", None, "ok"), ("stage", "extract", "ok"), ("stage", "load", "ok"),
        ("run_end", None, "ok"),
    ]  # fmt: skip
    assert {e["run_id"] for e in client.events} == {run.run_id}
    assert {e["system"] for e in client.events} == {"orders-etl"}
    assert client.events[0]["latency_ms"] == 0
    assert client.events[-1]["latency_ms"] >= max(e["latency_ms"] for e in client.events[1:3])
    assert [e["ts"] for e in client.events] == sorted(e["ts"] for e in client.events)
    assert run.status == "ok" and run.duration_s is not None


def test_a_stage_that_raises_fails_the_run_once_and_the_exception_propagates(
    client: Recorder,
) -> None:
    with pytest.raises(ValueError, match="bad row 17"), client.run("orders-etl") as run:
        with run.stage("extract"):
            pass
        with run.stage("transform"):
            raise ValueError("bad row 17")
    assert client.kinds() == [
        ("run_start", None, "ok"), ("stage", "extract", "ok"), ("stage", "transform", "error"),
        ("run_end", None, "error"),
    ], "no counted `run` event: the failed stage already counts the failure"  # fmt: skip
    error = {"error_type": "ValueError", "error": "bad row 17"}
    assert client.events[2]["payload"] == error and client.events[3]["payload"] == error
    assert run.status == "error"


def test_a_run_that_fails_outside_its_stages_counts_one_run_event(client: Recorder) -> None:
    with pytest.raises(KeyError), client.run(7) as run:
        with run.stage("extract"):
            pass
        raise KeyError("orders")
    assert client.kinds() == [
        ("run_start", None, "ok"), ("stage", "extract", "ok"), ("run", None, "error"),
        ("run_end", None, "error"),
    ]  # fmt: skip
    assert client.events[2]["payload"] == {"error_type": "KeyError", "error": "'orders'"}


def test_a_stage_error_caught_inside_the_run_leaves_the_run_ok(client: Recorder) -> None:
    with client.run(7) as run:
        try:
            with run.stage("extract"):
                raise TimeoutError("slow source")
        except TimeoutError:
            pass
    assert client.kinds()[-2:] == [("stage", "extract", "error"), ("run_end", None, "ok")]


def test_a_run_without_stages_counts_one_run_event(client: Recorder) -> None:
    with client.run(7, run_id="nightly-2026-12-01") as run:
        pass
    assert run.run_id == "nightly-2026-12-01"
    assert client.kinds() == [
        ("run_start", None, "ok"),
        ("run", None, "ok"),
        ("run_end", None, "ok"),
    ]
    assert client.events[1]["latency_ms"] == client.events[2]["latency_ms"]


def test_sys_exit_0_is_a_success_and_keyboard_interrupt_a_failure(client: Recorder) -> None:
    with pytest.raises(SystemExit), client.run(7):
        raise SystemExit(0)
    with pytest.raises(KeyboardInterrupt), client.run(7):
        raise KeyboardInterrupt
    assert [e["status"] for e in client.events if e["event_type"] == "run_end"] == ["ok", "error"]


def test_each_run_has_a_fresh_id_and_is_used_once(client: Recorder) -> None:
    with client.run(7) as first:
        pass
    with client.run(7) as second:
        pass
    assert first.run_id != second.run_id
    with pytest.raises(RuntimeError, match="started already"), first:
        pass
    with pytest.raises(RuntimeError, match="not running"):
        first.finish()
    with pytest.raises(RuntimeError, match="not running"), first.stage("late"):
        pass


def test_a_decorated_function_is_a_run_per_call_and_stage_finds_the_current_run(
    client: Recorder,
) -> None:
    @lso_client.stage("extract")
    def extract() -> int:
        return 3

    @client.run("orders-etl")
    def nightly(rows: int) -> int:
        current = lso_client.current_run()
        assert current is not None and current.running
        return extract() + rows

    assert nightly(1) == 4 and nightly(2) == 5
    runs = {e["run_id"] for e in client.events}
    assert len(runs) == 2
    assert client.kinds()[:3] == [
        ("run_start", None, "ok"), ("stage", "extract", "ok"), ("run_end", None, "ok"),
    ]  # fmt: skip
    assert lso_client.current_run() is None


def test_stage_function_names_the_stage_after_the_function(client: Recorder) -> None:
    with client.run(7) as run:

        @run.stage_function
        def load() -> None:
            pass

        @run.stage_function("transform")
        def step() -> None:
            pass

        load()
        step()
        load()
    assert [e["stage"] for e in client.events if e["event_type"] == "stage"] == [
        "load", "transform", "load",
    ]  # fmt: skip


def test_a_stage_outside_any_run_runs_unreported(
    client: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    with lso_client.stage("orphan"):
        pass
    assert client.events == [] and "outside any run" in caplog.text


def test_runs_and_stages_work_with_async_with_and_on_coroutine_functions(
    client: Recorder,
) -> None:
    @lso_client.stage("fetch")
    async def fetch() -> int:
        await asyncio.sleep(0)
        return 1

    @client.run("async-etl")
    async def pipeline() -> int:
        return await fetch()

    async def main() -> None:
        async with client.run(7) as run, run.stage("extract"):
            await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            async with client.run(7) as run, run.stage("load"):
                raise RuntimeError("load failed")
        assert await pipeline() == 1
        # Concurrent runs in tasks do not see each other's stages.
        await asyncio.gather(pipeline(), pipeline())

    asyncio.run(main())
    assert client.kinds()[:3] == [
        ("run_start", None, "ok"), ("stage", "extract", "ok"), ("run_end", None, "ok"),
    ]  # fmt: skip
    assert client.kinds()[3:6] == [
        ("run_start", None, "ok"), ("stage", "load", "error"), ("run_end", None, "error"),
    ]  # fmt: skip
    fetches = [e for e in client.events if e["stage"] == "fetch"]
    assert len(fetches) == 3 and len({e["run_id"] for e in fetches}) == 3


def test_names_are_checked_when_the_run_or_stage_is_made(client: Recorder) -> None:
    with pytest.raises(ValueError, match="stage"):
        lso_client.stage("x" * 65)
    with pytest.raises(ValueError, match="run_id"):
        client.run(7, run_id="bad\nid")
