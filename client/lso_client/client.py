"""LSOClient: queue events from any thread; one background thread per process sends them.

Never blocks and never raises for LSO's sake: `event()` only checks the event and queues it, or
drops it (counted) when the buffer is full. Safe across fork(): a child forgets what its parent
had queued (the parent sends that) and starts a sender of its own at its first event. Flushed at
interpreter exit, for `exit_timeout_s` at most."""

import atexit
import logging
import os
import random
import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from lso_client import events
from lso_client.buffer import Buffer, Item
from lso_client.config import Config, from_env
from lso_client.runs import Run
from lso_client.sender import Sender
from lso_client.throttle import Throttle

log = logging.getLogger("lso_client")
P = ParamSpec("P")
R = TypeVar("R")

_live: "weakref.WeakSet[LSOClient]" = weakref.WeakSet()


class LSOClient:
    """A client of one LSO. `url` and `key` default to LSO_URL and LSO_KEY; every other option
    is a field of `Config`. `sleep` and `rng` replace the sender's waits and jitter (tests)."""

    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        *,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
        **options: Any,
    ) -> None:
        self.config: Config = from_env(url, key, **options)
        self._sleep, self._rng = sleep, rng
        self._lock = threading.Lock()  # starting and stopping the sender
        self._closed = False
        self._drops = Throttle(self.config.warn_interval_s)
        self._buffer, self._sender = self._fresh_state()
        _live.add(self)

    def _fresh_state(self) -> tuple[Buffer, Sender]:
        buffer = Buffer(self.config.max_buffered_events, self.config.batch_events)
        return buffer, Sender(self.config, buffer, self._sleep, self._rng)

    # Reporting

    def event(
        self,
        system: int | str,
        event_type: str = "event",
        *,
        status: events.Status = "ok",
        latency_ms: float = 0.0,
        ts: datetime | float | None = None,
        run_id: str | None = None,
        stage: str | None = None,
        payload: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> bool:
        """Queue one event for `system` (an id, or a name resolved on the first send); True if
        queued, False if dropped because the buffer is full or the client closed (counted in
        `dropped`). `ts` defaults to now; `event_id` to a fresh one.

        Raises ValueError or TypeError, at once, for an event LSO would refuse."""
        if isinstance(system, bool) or not isinstance(system, int | str):
            raise TypeError(f"system must be an id (int) or a name (str), not {system!r}")
        encoded = events.encode(
            event_type, status=status, latency_ms=latency_ms, ts=ts, run_id=run_id, stage=stage,
            payload=payload, event_id=event_id, max_payload_bytes=self.config.max_payload_bytes,
        )  # fmt: skip
        if not self._sender.started:
            self._start()
        if self._buffer.put(Item(system, encoded)):
            return True
        count = self._drops.hit()
        if count is not None:
            why = "the client is closed"
            if not self._closed:
                why = f"the buffer holds max_buffered_events={self.config.max_buffered_events}"
            log.warning("lso-client: dropped %d events since the last warning (%d in all): %s",
                        count, self.dropped, why)  # fmt: skip
        return False

    def run(self, system: int | str, run_id: str | None = None) -> Run:
        """A run of a pipeline: `with client.run("orders-etl") as run:`, `async with`, or as a
        decorator (each call a run of its own). See lso_client.runs for what it reports."""
        return Run(self, system, run_id)

    def run_function(
        self, system: int | str, run_id: str | None = None
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """A decorator: every call of the function is a run (the same as `@client.run(...)`)."""
        return Run(self, system, run_id)

    # Delivery

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Send every event queued so far now, and wait until each is sent or refused for good;
        False if that took longer than `timeout_s` (they stay queued)."""
        return self._buffer.wait_settled(timeout_s)

    def close(self, timeout_s: float = 10.0) -> bool:
        """Send what is queued for at most `timeout_s`, drop the rest (counted) and stop the
        sender; new events are dropped from now on. True when nothing was left unsent."""
        with self._lock:
            if self._closed:
                return self._buffer.pending == 0
            self._closed = True
            self._sender.stop(timeout_s)
        _live.discard(self)
        log.info("lso-client: closed: sent %d, rejected %d, unresolved %d, dropped %d events",
                 self.sent, self.rejected, self.unresolved, self.dropped)  # fmt: skip
        return self._buffer.pending == 0 and self._sender.lost == 0

    def __enter__(self) -> "LSOClient":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Counters (of this process: a forked child starts from zero)

    @property
    def sent(self) -> int:
        """Events LSO accepted (202)."""
        return self._sender.sent

    @property
    def dropped(self) -> int:
        """Events never sent: the buffer was full or the client closed, or close() ran out of
        time while LSO was unreachable."""
        return self._buffer.dropped

    @property
    def rejected(self) -> int:
        """Events LSO refused for good (422, 413, 404 unknown system, 401/403...): not retried."""
        return self._sender.rejected

    @property
    def unresolved(self) -> int:
        """Events for a system name LSO would not resolve nor let this key register."""
        return self._sender.unresolved

    @property
    def pending(self) -> int:
        """Events queued or being sent."""
        return self._buffer.pending

    # Threads and processes

    def _start(self) -> None:
        with self._lock:
            if self._sender.started or self._closed:
                return
            self._sender.start()

    def _after_fork_in_child(self) -> None:
        # Only the forking thread exists in the child: no sender, and the locks may have been
        # held by threads that are gone. What was queued is the parent's to send.
        self._lock = threading.Lock()
        self._drops = Throttle(self.config.warn_interval_s)
        self._sender.forget()
        self._buffer, self._sender = self._fresh_state()
        if self._closed:
            self._buffer.close()

    def _close_at_exit(self) -> None:
        if not self._sender.started or self._closed:
            return
        if not self.close(self.config.exit_timeout_s):
            log.warning("lso-client: at exit %d events could not be sent", self._sender.lost)


def _after_fork_in_child() -> None:
    for client in list(_live):
        client._after_fork_in_child()


def _close_all_at_exit() -> None:
    for client in list(_live):
        client._close_at_exit()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
