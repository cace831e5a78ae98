"""The domain's errors: what went wrong in words of the domain, never of HTTP.

api/errors.py maps each to its status code in one place; the worker, the jobs and the command line
catch them as they are.
"""

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose; `detail` is safe to show the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SystemNotFound(DomainError):
    def __init__(self, system_id: int) -> None:
        super().__init__(f"system {system_id} not found")
        self.system_id = system_id


class NotFound(DomainError):
    """Something other than a system (a key, a channel, a dead letter) does not exist."""


class BadRequest(DomainError):
    """A query the domain cannot answer as asked: a malformed cursor, too many points."""


class InvalidInput(DomainError):
    """Input that fails validation, with pydantic-shaped errors (`loc`, `msg`, `type`)."""

    def __init__(
        self, errors: list[dict[str, Any]], complete: bool = True, events: int = 0
    ) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self._errors = errors
        self.complete = complete  # False: validation stopped early, there may be more
        self.events = events  # events in the rejected batch, when known (0: not known)

    def errors(self) -> list[dict[str, Any]]:
        return self._errors


class PolicyConflict(DomainError):
    """A stored policy that no longer fits the defaults (they changed after it was stored)."""


class RetryLater(DomainError):
    """Not now: the caller should come back after `retry_after_s`."""

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Overloaded(RetryLater):
    """Too many events wait to be applied: the batch was not appended (load shedding)."""


class RateLimited(RetryLater):
    """The system is over its own ingest rate limit: the batch was not appended."""


class StoreTooSlow(RetryLater):
    """The store ran the append too late to be answered in time, and refused it: not appended."""


class OutcomeUnknown(RetryLater):
    """The store took the batch and stopped answering: whether it was appended is not known."""


class StoreNotDurable(DomainError):
    """LSO_DURABLE_ACK is on and the store could not confirm the fsync in time."""
