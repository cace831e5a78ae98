"""A problem that repeats (a full buffer, refused batches) is logged once per interval, with how
often it happened since the last time: a pipeline's log stays readable through an outage."""

import math
import threading
import time
from collections.abc import Callable


class Throttle:
    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_s = -math.inf
        self._count = 0

    def hit(self, count: int = 1) -> int | None:
        """Record `count` occurrences; returns how many to report when it is time to log (the
        first time, then at most once per interval), else None."""
        with self._lock:
            self._count += count
            now_s = self._clock()
            if now_s - self._last_s < self._interval_s:
                return None
            self._last_s, reported, self._count = now_s, self._count, 0
            return reported
