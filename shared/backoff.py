"""Capped exponential backoff with full jitter, for reconnect loops."""

import random


class Backoff:
    def __init__(self, base_s: float = 0.1, cap_s: float = 30.0) -> None:
        self._base_s = base_s
        self._cap_s = cap_s
        self._failures = 0

    def next_delay_s(self) -> float:
        """The delay before the next attempt; grows with each call until `reset()`."""
        ceiling = min(self._cap_s, self._base_s * 2**self._failures)
        self._failures = min(self._failures + 1, 32)
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._failures = 0
