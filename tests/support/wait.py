"""Waiting for something to hold, with a deadline: never a bare sleep."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None],
    timeout_s: float,
    what: str,
    *,
    interval_s: float = 0.02,
    ignore: tuple[type[BaseException], ...] = (OSError,),
) -> T:
    """Call `probe` until it returns something truthy, and return that; fail after `timeout_s`.

    A probe that raises one of `ignore` (by default OSError: a connection refused, a file not
    there yet) has not succeeded yet; any other exception ends the wait at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = probe()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}: {value!r}")
        time.sleep(interval_s)
