"""The background thread that sends the buffer's events to LSO in batches.

A batch is at most `batch_events` events of one system and at most `max_batch_bytes` serialized,
gzipped above `gzip_min_bytes`, and carries an Idempotency-Key of its own, the same on every
attempt: LSO counts it once however often it is sent. Network errors, 408, 429 and 5xx answers
are retried with backoff (honouring Retry-After) until the batch is accepted or the client's
close runs out of time; any other answer refuses the batch for good (counted in `rejected`)."""

import functools
import gzip
import itertools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

from lso_client.backoff import Backoff
from lso_client.buffer import Buffer, Item
from lso_client.config import Config
from lso_client.resolver import RETRYABLE, Resolver, RetryLater
from lso_client.throttle import Throttle
from lso_client.transport import Transport, TransportError

log = logging.getLogger("lso_client.sender")
T = TypeVar("T")
EMPTY_BODY_BYTES = len(b'{"events":[]}')


class GaveUp(Exception):
    """The client is closing and its time ran out while this was still being retried."""


class Sender:
    """Owns the connection to LSO and the counters of what became of the events it took."""

    def __init__(
        self,
        config: Config,
        buffer: Buffer,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._buffer = buffer
        self._transport = Transport(config.url, config.key, config.timeout_s)
        self._resolver = Resolver(self._transport, config.create_systems)
        self._backoff = Backoff(
            config.backoff_initial_s, config.backoff_max_s, config.retry_after_max_s,
            rng or random.Random(),
        )  # fmt: skip
        self._interrupt = threading.Event()  # cuts a backoff short when the client closes
        self._sleep = sleep or self._interruptible_sleep
        self._deadline_s: float | None = None  # monotonic; set by `stop`
        self._thread: threading.Thread | None = None
        self._retries = Throttle(config.warn_interval_s)
        self._refusals = Throttle(config.warn_interval_s)
        self.sent = 0
        self.rejected = 0
        self.unresolved = 0
        self.lost = 0  # given up when the close ran out of time (also counted in dropped)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lso-client-sender", daemon=True)
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def stop(self, timeout_s: float) -> None:
        """Send what is left for at most `timeout_s`, then drop the rest (counted) and end."""
        self._deadline_s = time.monotonic() + max(0.0, timeout_s)
        self._buffer.close()
        self._interrupt.set()
        if self._thread is not None:
            self._thread.join(max(0.0, timeout_s) + self._config.timeout_s)

    def forget(self) -> None:
        """In a forked child: this sender's thread does not exist there; never use its
        connection, which is the parent's."""
        self._transport.forget()

    def _run(self) -> None:
        try:
            while not self._past_deadline():
                until_s = time.monotonic() + self._config.flush_interval_s
                items = self._buffer.take(self._config.batch_events, until_s)
                if not items:
                    if self._buffer.closed:
                        return
                    continue
                try:
                    self._deliver(items)
                except Exception:  # a bug here must not stop the sending for good
                    log.exception("lso-client: %d events lost to an unexpected error", len(items))
                    self._buffer.count_dropped(len(items))
                finally:
                    self._buffer.settle(len(items))
            lost = self._buffer.discard()
            self.lost += lost
            if lost:
                log.warning("lso-client: closing: %d events were never sent", lost)
        finally:
            self._transport.close()

    def _deliver(self, items: list[Item]) -> None:
        groups: dict[int | str, list[bytes]] = {}
        for item in items:
            groups.setdefault(item.system, []).append(item.event)
        for system, events in groups.items():
            resolve = functools.partial(self._resolver.resolve, system)
            try:
                system_id = self._retrying(f"resolving system {system!r}", resolve)
            except GaveUp as exc:
                self._give_up(len(events), exc)
                continue
            if system_id is None:
                self.unresolved += len(events)
                continue
            for chunk in chunks(events, self._config.max_batch_bytes):
                self._post(system, system_id, chunk)

    def _give_up(self, count: int, why: GaveUp) -> None:
        self._buffer.count_dropped(count)
        self.lost += count
        log.warning("lso-client: closing: %d events not sent (%s)", count, why)

    def _post(self, system: int | str, system_id: int, events: list[bytes]) -> None:
        body = b'{"events":[' + b",".join(events) + b"]}"
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        if len(body) > self._config.gzip_min_bytes:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        path = f"/systems/{system_id}/events"

        def attempt() -> tuple[int, str]:
            answer = self._transport.request("POST", path, body, headers)
            if answer.status in RETRYABLE:
                raise RetryLater(f"answered {answer.status}", answer.retry_after_s)
            return answer.status, answer.excerpt()

        try:
            status, excerpt = self._retrying(f"sending {len(events)} events to {path}", attempt)
        except GaveUp as exc:
            self._give_up(len(events), exc)
            return
        if 200 <= status < 300:
            self.sent += len(events)
            return
        if status == 413 and len(events) > 1:  # a server with a smaller body limit: halve it
            half = len(events) // 2
            self._post(system, system_id, events[:half])
            self._post(system, system_id, events[half:])
            return
        if status == 404 and isinstance(system, str):
            self._resolver.forget(system)  # deleted since it was looked up: look again next time
        self.rejected += len(events)
        count = self._refusals.hit(len(events))
        if count is not None:
            log.warning("lso-client: LSO refused %d events sent to %s with %d, not retried: %s "
                        "(%d refused events since the last warning)",
                        len(events), path, status, excerpt, count)  # fmt: skip

    def _retrying(self, what: str, attempt: Callable[[], T]) -> T:
        """`attempt()`'s result, calling it again after a backoff while it raises TransportError
        or RetryLater; raises GaveUp once the close's time is out."""
        for retry in itertools.count():
            if self._past_deadline():
                raise GaveUp(f"{what}: the close's time ran out")
            try:
                return attempt()
            except (TransportError, RetryLater) as exc:
                if self._past_deadline():
                    raise GaveUp(f"{what}: {exc}") from exc
                retry_after_s = exc.retry_after_s if isinstance(exc, RetryLater) else None
                delay_s = self._backoff.delay_s(retry, retry_after_s)
                count = self._retries.hit()
                if count is not None:
                    log.warning("lso-client: %s failed (%s); retrying in %.2f s "
                                "(%d failures since the last warning)",
                                what, exc, delay_s, count)  # fmt: skip
                self._pause(delay_s)
        raise AssertionError("unreachable")

    def _pause(self, delay_s: float) -> None:
        if self._deadline_s is not None:
            delay_s = min(delay_s, max(0.0, self._deadline_s - time.monotonic()))
        self._sleep(delay_s)

    def _interruptible_sleep(self, delay_s: float) -> None:
        self._interrupt.wait(delay_s)
        self._interrupt.clear()

    def _past_deadline(self) -> bool:
        return self._deadline_s is not None and time.monotonic() >= self._deadline_s


def chunks(events: list[bytes], max_bytes: int) -> Iterator[list[bytes]]:
    """`events` in order, in runs whose batch body stays within `max_bytes` (an event larger
    than that alone goes in a batch of its own)."""
    chunk: list[bytes] = []
    size = EMPTY_BODY_BYTES
    for event in events:
        if chunk and size + len(event) + 1 > max_bytes:
            yield chunk
            chunk, size = [], EMPTY_BODY_BYTES
        chunk.append(event)
        size += len(event) + 1
    if chunk:
        yield chunk
