"""The ingest use case: one batch of one system, from its body to a durable stream entry.

Every way in (the native route, and the adapters that translate other protocols) ends here, so
they share the limits, the load shedding and the errors: the order of the checks is the contract.
"""

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from shared.errors import (
    InvalidInput,
    OutcomeUnknown,
    Overloaded,
    RateLimited,
    StoreNotDurable,
    StoreTooSlow,
    SystemNotFound,
)
from shared.ingest.append import StreamAppender
from shared.ingest.rejections import RejectionBudget
from shared.ingest.validate import BatchValidator
from shared.model.codec import encode_batch
from shared.services.backlog import Backlog, Readiness
from shared.services.registry import Registry
from shared.services.tally import Tally

RETRY_AFTER_S = 1


class Ingest:
    def __init__(
        self,
        registry: Registry,
        readiness: Readiness,
        validator: BatchValidator,
        appender: StreamAppender,
        rejections: RejectionBudget,
        tally: Tally | None = None,
    ) -> None:
        self.registry = registry
        self.tally = tally  # refused batches are counted there, by reason (GET /metrics)
        self.readiness = readiness
        self.validator = validator
        self.appender = appender
        self.rejections = rejections
        # system id -> (monotonic time until which it is over its rate limit, that limit): refused
        # before its body is read or validated, so a client over its quota costs this process
        # almost nothing. A changed limit ends it at once.
        self._limited_until: dict[int, tuple[float, float]] = {}

    async def accept(
        self,
        system_id: int,
        read_body: Callable[[], Awaitable[bytes]],
        now: datetime,
        idempotency_key: str | None,
        validator: BatchValidator | None = None,
    ) -> int:
        """Append the batch and return its number of events, only once it is in the stream.
        `validator` replaces the usual one for an adapter whose protocol sets other limits.

        Raises SystemNotFound, Overloaded (before the body is read, when the cached backlog is
        already over its limit), InvalidInput, RateLimited, StoreNotDurable, or the store's own
        errors; in every one of those cases nothing was appended.
        """
        reading, events = False, 0
        try:
            rate_per_s, backlog = await self.admit(system_id)
            held = await self.rejections.admit(system_id)
            reading = True
            body = await read_body()
            reading = False
            started = time.perf_counter()
            try:
                rows = (validator or self.validator).validate(system_id, body, now)
            except InvalidInput as rejected:
                self.rejections.settle(system_id, held, time.perf_counter() - started)
                if rate_per_s > 0:  # a rejected batch counts against the limit like an accepted
                    wait_s = await self.appender.charge(system_id, rejected.events or 1,
                                                        rate_per_s)  # fmt: skip
                    self._note_limited(system_id, wait_s, rate_per_s)
                raise
            self.rejections.settle(system_id, held, None)
            entry = encode_batch(system_id, rows, idempotency_key)
            events = len(rows)
            # Parsed objects must not live across the await: with many requests in flight they
            # would survive into older GC generations and make collections expensive.
            del body, rows
            await self._append(system_id, entry, events, rate_per_s, backlog)
        except Exception as exc:
            self._count_refused(exc, "body" if reading else None, events)
            raise
        return events

    async def accept_rows(
        self, system_id: int, rows: list[list[Any]], idempotency_key: str | None = None
    ) -> int:
        """`accept` for the compact rows (shared/model/codec.py) of an adapter that builds only
        rows native validation would accept, and holds a test to it (shared/adapters/otlp.py):
        the same limits, shedding and errors, without parsing and validating them again.

        Raises SystemNotFound, Overloaded, RateLimited, StoreNotDurable, or the store's own
        errors; in every one of those cases nothing was appended.
        """
        if not 1 <= len(rows) <= self.validator.max_events:
            raise ValueError(f"a batch holds 1 to {self.validator.max_events} rows")
        try:
            rate_per_s, backlog = await self.admit(system_id)
            await self._append(
                system_id, encode_batch(system_id, rows, idempotency_key), len(rows), rate_per_s,
                backlog,
            )  # fmt: skip
        except Exception as exc:
            self._count_refused(exc, None, len(rows))
            raise
        return len(rows)

    def _count_refused(self, exc: Exception, reason: str | None, events: int) -> None:
        """Count a refused batch by its reason (shared/services/tally.py REJECTION_REASONS),
        with its events when they are known."""
        if self.tally is None:
            return
        if reason is None:
            reason = next((why for kind, why in _REASONS if isinstance(exc, kind)), "error")
        if isinstance(exc, InvalidInput):
            events = exc.events
        self.tally.rejected(reason, events)

    async def admit(self, system_id: int) -> tuple[float, Backlog]:
        """The system's rate limit and the cached backlog, once neither refuses the batch: a
        client over its quota, or an overloaded store, costs this process almost nothing."""
        rate_per_s = (await self.registry.require(system_id)).rate_per_s
        until, limit = self._limited_until.get(system_id, (0.0, rate_per_s))
        limited_s = until - time.monotonic()
        if limited_s > 0 and limit == rate_per_s:
            raise RateLimited(f"system {system_id} is over its rate limit", limited_s)
        backlog = await self.readiness.backlog()  # cached: sheds before reading the body
        if not backlog.ok:
            raise _overloaded(backlog.events, backlog)
        return rate_per_s, backlog

    async def _append(
        self,
        system_id: int,
        entry: dict[bytes, bytes],
        events: int,
        rate_per_s: float,
        backlog: Backlog,
    ) -> None:
        appended = await self.appender.append(system_id, entry, events, rate_per_s)
        if appended.too_late_ms:
            raise StoreTooSlow(
                "the store reached the batch too late to answer in time; it was not appended",
                RETRY_AFTER_S,
            )
        if appended.shed_backlog:
            raise _overloaded(appended.shed_backlog, backlog)
        if appended.rate_limited_s:
            self._note_limited(system_id, appended.rate_limited_s, rate_per_s)
            raise RateLimited(f"system {system_id} is over its rate limit", appended.rate_limited_s)

    def _note_limited(self, system_id: int, wait_s: float, rate_per_s: float) -> None:
        if wait_s <= 0:
            return
        if len(self._limited_until) > 10_000:  # forget the expired ones
            now = time.monotonic()
            self._limited_until = {s: e for s, e in self._limited_until.items() if e[0] > now}
        self._limited_until[system_id] = (time.monotonic() + wait_s, rate_per_s)


_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (SystemNotFound, "unknown_system"),
    (RateLimited, "rate_limited"),
    (Overloaded, "overloaded"),
    (InvalidInput, "invalid"),
    (StoreTooSlow, "store_too_slow"),
    (OutcomeUnknown, "outcome_unknown"),
    (StoreNotDurable, "not_durable"),
)


def _overloaded(events: int, backlog: Backlog) -> Overloaded:
    return Overloaded(
        f"overloaded: {events} events wait to be applied (limit {backlog.limit})",
        backlog.retry_after_s(),
    )
