"""The partition layout: how many ingest streams there are and which system lives in which.

A deployment starts with LSO_PARTITIONS partitions; `lso partitions N` changes the count for the
systems registered from then on. A system never moves: its data lives in its partition's hash slot,
so the layout is a list of epochs `(first system id, partitions)`, and a system's partition is its
id modulo the count of the epoch it was registered in. Ids only grow and a change starts its epoch
after the highest id registered (atomically, shared/store/lua/layout.lua), so a layout read after a
system was registered names that system's partition forever.
"""

from dataclasses import dataclass
from typing import Any

import orjson

from shared.store import keys, scripts
from shared.store.client import AsyncRedis, SyncRedis


@dataclass(frozen=True)
class Layout:
    epochs: tuple[tuple[int, int], ...]  # (first system id, partitions), ascending
    registered: int  # highest system id registered when this layout was read

    @property
    def partitions(self) -> int:
        """Partitions of systems registered from now on."""
        return self.epochs[-1][1]

    @property
    def streams(self) -> int:
        """Number of ingest streams (partitions 0 .. streams-1) that may hold entries."""
        return max(n for _, n in self.epochs)

    def partition_of(self, system_id: int) -> int | None:
        """The system's partition; None when it was registered after this layout was read."""
        if system_id > self.registered:
            return None
        count = next(n for first, n in reversed(self.epochs) if first <= system_id)
        return keys.partition_of(system_id, count)


def _parse(reply: list[Any]) -> Layout:
    doc, seq = reply  # JSON text, integer
    epochs = tuple((int(first), int(n)) for first, n in orjson.loads(doc))
    return Layout(epochs, int(seq))


def load_sync(client: SyncRedis, partitions: int, *, change: bool = False) -> Layout:
    """The layout (created with `partitions` if absent); with `change`, new systems use
    `partitions` from now on."""
    call = scripts.layout("set" if change else "ensure", partitions)
    script = client.register_script(scripts.source(scripts.LAYOUT))
    return _parse(script(keys=call.keys, args=call.args))


async def load(client: AsyncRedis, partitions: int) -> Layout:
    call = scripts.layout("ensure", partitions)
    script = client.register_script(scripts.source(scripts.LAYOUT))
    return _parse(await script(keys=call.keys, args=call.args))
