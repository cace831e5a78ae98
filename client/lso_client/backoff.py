"""How long to wait before the next attempt: exponential backoff with jitter, or what the server
asked for in Retry-After."""

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial_s: float
    max_s: float
    retry_after_max_s: float
    rng: random.Random = field(default_factory=random.Random)

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """The wait before retry number `attempt` (0 for the first retry).

        With `retry_after_s` the server's wish (capped at `retry_after_max_s`), plus up to 10 %
        (at most 1 s) so that clients told the same moment do not all come back at once; without
        it, a uniform draw from the upper half of `initial_s * 2**attempt`, capped at `max_s`."""
        if retry_after_s is not None:
            wait_s = min(max(retry_after_s, 0.0), self.retry_after_max_s)
            return wait_s + self.rng.uniform(0.0, min(1.0, wait_s * 0.1))
        ceiling_s = min(self.max_s, self.initial_s * 2 ** min(attempt, 32))
        return self.rng.uniform(ceiling_s / 2, ceiling_s)
