"""The store's clock as this process can bound it: deadlines the store checks with TIME.

A reading `TIME` answered at local monotonic time `t_recv` was taken at or before `t_recv`, so
`store_ms - t_recv` is a lower bound of the offset between the store's clock and ours, whatever
the round trip (a store paused between our send and its TIME only makes the bound looser). A
deadline computed from a lower bound lies at or before the true one: the store may refuse a call
that would have made it in time, never accept one that did not.
"""

import time

from shared.store.client import AsyncRedis

REFRESH_S = 30.0  # clocks drift and get stepped by NTP: re-read the offset this often


class StoreClock:
    def __init__(self, client: AsyncRedis) -> None:
        self._client = client
        self._offset_ms: float | None = None  # store unix ms minus our monotonic ms (lower bound)
        self._read_at = 0.0

    async def deadline_ms(self, budget_ms: int) -> int:
        """A time on the store's clock at most `budget_ms` after now."""
        now = time.monotonic()
        if self._offset_ms is None or now - self._read_at > REFRESH_S:
            await self._read()
        assert self._offset_ms is not None
        return int(time.monotonic() * 1000 + self._offset_ms) + budget_ms

    async def _read(self) -> None:
        seconds, micros = await self._client.time()
        received = time.monotonic()
        self._offset_ms = seconds * 1000 + micros / 1000 - received * 1000
        self._read_at = received
