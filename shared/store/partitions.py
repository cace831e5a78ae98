"""A cached view of the partition layout (shared/store/layout.py), re-read every LAYOUT_TTL_S
and at once when asked about a system registered after the last read."""

import time

from shared.store import keys, layout
from shared.store.client import AsyncRedis
from shared.store.layout import Layout

LAYOUT_TTL_S = 2.0


class Partitions:
    def __init__(self, client: AsyncRedis, initial_partitions: int) -> None:
        self._client = client
        self._initial = initial_partitions
        self._layout: Layout | None = None
        self._until = 0.0

    async def layout(self) -> Layout:
        if self._layout is None or time.monotonic() >= self._until:
            return await self._refresh()
        return self._layout

    async def of(self, system_id: int) -> int:
        """The partition holding the system's data."""
        found = (await self.layout()).partition_of(system_id)
        if found is None:
            current = await self._refresh()
            found = current.partition_of(system_id)
            if found is None:  # no such system (yet): any partition; nothing is stored for it
                found = keys.partition_of(system_id, current.partitions)
        return found

    def known(self, system_id: int) -> int | None:
        """The partition, if the cached layout can tell without a store call."""
        if self._layout is None:
            return None
        return self._layout.partition_of(system_id)

    async def _refresh(self) -> Layout:
        self._layout = await layout.load(self._client, self._initial)
        self._until = time.monotonic() + LAYOUT_TTL_S
        return self._layout
