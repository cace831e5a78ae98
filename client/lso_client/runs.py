"""Runs and stages: a pipeline's run as LSO's `GET /systems/{id}/runs` shows it, timed blocks as
its stages, each usable as a context manager (`with`, `async with`) and as a decorator.

What a run reports, so that its result is counted exactly once in the system's health:
- at entry a `run_start` marker (status ok, latency 0);
- per stage one counted event, `event_type` "stage", `stage` its name, `latency_ms` the block's
  duration, status ok, or error with `{"error_type", "error"}` in its payload when it raised;
- at exit, when the run reported no stage or failed outside every stage (the exception that ends
  it is not one a stage reported), one counted event `event_type` "run" with the run's duration
  and status; then the `run_end` marker (status ok or error, latency the run's duration, the
  error in its payload), which closes the run on the server at once.
Markers are not counted in the health figures (error rate, latency percentiles, counts)."""

import functools
import inspect
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from contextvars import ContextVar, Token
from datetime import datetime
from types import TracebackType
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from lso_client.events import RUN_END, RUN_START, Status, check_identifier

log = logging.getLogger("lso_client.runs")
P = ParamSpec("P")
R = TypeVar("R")
MAX_ERROR_CHARS = 1000  # of an exception's message in a payload (the server caps payloads)


class Reporter(Protocol):
    def event(
        self,
        system: int | str,
        event_type: str = ...,
        *,
        status: Status = ...,
        latency_ms: float = ...,
        ts: datetime | float | None = ...,
        run_id: str | None = ...,
        stage: str | None = ...,
        payload: Mapping[str, Any] | None = ...,
        event_id: str | None = ...,
    ) -> bool: ...


_current: ContextVar["Run | None"] = ContextVar("lso_client_current_run", default=None)


def current_run() -> "Run | None":
    """The run whose block (or decorated function) is executing in this thread or task."""
    return _current.get()


def stage(name: str) -> "Stage":
    """A stage of the run current when the block is entered (context manager or decorator):
    for helpers called from inside a run. Outside any run the block runs unreported."""
    return Stage(None, name)


def error_payload(error: BaseException) -> dict[str, str]:
    return {"error_type": type(error).__name__, "error": str(error)[:MAX_ERROR_CHARS]}


def is_failure(error: BaseException | None) -> bool:
    """Whether leaving a block with `error` is a failure: `sys.exit(0)` is not."""
    if error is None:
        return False
    return not (isinstance(error, SystemExit) and error.code in (None, 0))


class _Block:
    """A context manager for `with` and `async with` alike, and a decorator for plain and
    coroutine functions: each call of a decorated function enters a `fresh()` copy."""

    def fresh(self) -> "_Block":
        raise NotImplementedError

    def __enter__(self) -> Any:
        raise NotImplementedError

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(kind, error, tb)

    @overload
    def __call__(
        self, func: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Callable[P, Any]) -> Callable[P, Any]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                async with self.fresh():
                    return await func(*args, **kwargs)

            return run_async

        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> Any:
            with self.fresh():
                return func(*args, **kwargs)

        return run


class Run(_Block):
    """One run of a pipeline on a system (an id, or a name the client resolves).

    Used once: `with client.run("orders-etl") as run:` starts it (a fresh `run_id` unless one was
    given) and ends it, failed if the block raises (the exception propagates). As a decorator,
    every call of the function is a run of its own (with the given `run_id`, if any). Without a
    block: `start()`, then `finish()`."""

    def __init__(self, reporter: Reporter, system: int | str, run_id: str | None = None) -> None:
        self.system = system
        self._reporter = reporter
        self._given_run_id = None if run_id is None else check_identifier("run_id", run_id)
        self.run_id = self._given_run_id or uuid.uuid4().hex
        self.status: Status | None = None  # once finished
        self.duration_s: float | None = None  # once finished
        self._state = "new"
        self._started = 0.0  # perf_counter
        self._newest_ts_s = 0.0  # the end must be the run's newest event, even if the clock steps
        self._stages = 0
        self._failed_stages = 0
        self._stage_errors: list[BaseException] = []
        self._tokens: list[Token[Run | None]] = []

    def fresh(self) -> "Run":
        return Run(self._reporter, self.system, self._given_run_id)

    @property
    def running(self) -> bool:
        return self._state == "running"

    def start(self) -> "Run":
        """Report the run's start (a `run_start` marker)."""
        if self._state != "new":
            raise RuntimeError(f"run {self.run_id} was started already: use client.run() again")
        self._state = "running"
        self._started = time.perf_counter()
        self._report(RUN_START, "ok", 0.0)
        return self

    def stage(self, name: str) -> "Stage":
        """A stage of this run: times the block and reports it when the block ends."""
        return Stage(self, name)

    @overload
    def stage_function(self, name: str) -> "Stage": ...

    @overload
    def stage_function(self, name: Callable[P, R]) -> Callable[P, R]: ...

    def stage_function(self, name: str | Callable[P, R]) -> "Stage | Callable[P, R]":
        """A decorator: `@run.stage_function` names the stage after the function,
        `@run.stage_function("extract")` is the same as `@run.stage("extract")`."""
        if callable(name):
            return Stage(self, name.__name__)(name)
        return Stage(self, name)

    def event(self, event_type: str, **fields: Any) -> bool:
        """A counted event of this run (`client.event` with this run's system and run_id)."""
        return self._reporter.event(self.system, event_type, run_id=self.run_id, **fields)

    def finish(
        self,
        error: BaseException | None = None,
        *,
        status: Status | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Report the run's end: failed when `error` is a failure or `status` is "error";
        `payload` (by default the error's type and message) goes with the end."""
        if self._state != "running":
            raise RuntimeError(f"run {self.run_id} is not running (it is {self._state})")
        self._state = "finished"
        if status is None:
            status = "error" if is_failure(error) else "ok"
        if payload is None and status == "error" and error is not None:
            payload = error_payload(error)
        self.duration_s = time.perf_counter() - self._started
        latency_ms = self.duration_s * 1000
        if self._stages == 0 or (status == "error" and not self._failed_in_a_stage(error)):
            self._report("run", status, latency_ms, payload)
        self._report(RUN_END, status, latency_ms, payload)
        self.status = status
        self._stage_errors.clear()  # let the exceptions (and their frames) go

    def _failed_in_a_stage(self, error: BaseException | None) -> bool:
        if error is not None:
            return any(error is reported for reported in self._stage_errors)
        return self._failed_stages > 0  # finish(status="error") by hand: a stage said why

    def _stage_ended(self, name: str, latency_ms: float, error: BaseException | None) -> None:
        self._stages += 1
        status: Status = "error" if is_failure(error) else "ok"
        if error is not None and status == "error":
            self._failed_stages += 1
            self._stage_errors.append(error)
        payload = error_payload(error) if error is not None and status == "error" else None
        self._report("stage", status, latency_ms, payload, stage=name)

    def _report(
        self,
        event_type: str,
        status: Status,
        latency_ms: float,
        payload: Mapping[str, Any] | None = None,
        stage: str | None = None,
    ) -> None:
        ts_s = self._newest_ts_s = max(time.time(), self._newest_ts_s)
        self._reporter.event(
            self.system, event_type, status=status, latency_ms=latency_ms, ts=ts_s,
            run_id=self.run_id, stage=stage, payload=payload,
        )  # fmt: skip

    def __enter__(self) -> "Run":
        self.start()
        self._tokens.append(_current.set(self))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.reset(self._tokens.pop())
        self.finish(error)

    async def __aenter__(self) -> "Run":
        return self.__enter__()


class Stage(_Block):
    """A timed block of a run (of the current run when `run` is None). Reports one counted event
    when the block ends: ok, or error with the exception's type and message (the exception
    propagates)."""

    def __init__(self, run: Run | None, name: str) -> None:
        self.name = check_identifier("stage", name)
        self._bound = run
        self._run: Run | None = None
        self._started = 0.0

    def fresh(self) -> "Stage":
        return Stage(self._bound, self.name)

    def __enter__(self) -> "Stage":
        self._run = self._bound or current_run()
        if self._run is None:
            log.warning("lso-client: stage %r outside any run: not reported", self.name)
        elif not self._run.running:
            raise RuntimeError(
                f"stage {self.name!r} of run {self._run.run_id}, which is not running"
            )
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._run is not None:
            latency_ms = (time.perf_counter() - self._started) * 1000
            self._run._stage_ended(self.name, latency_ms, error)

    async def __aenter__(self) -> "Stage":
        return self.__enter__()
