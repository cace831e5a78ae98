"""The graph's writes against a real store: concurrent writers cannot close a cycle together,
and what a process caches is trusted until the graph's version changes."""

import asyncio

from shared.errors import InvalidInput
from shared.services.dependencies import Dependencies
from shared.services.registry import Registry
from shared.settings import Settings
from shared.store.client import async_client
from shared.store.partitions import Partitions


def test_two_writers_at_once_cannot_close_a_cycle_together(settings: Settings) -> None:
    async def main() -> None:
        clients = [async_client(settings) for _ in "ab"]
        try:
            registries = [Registry(c, 0.0, Partitions(c, settings.partitions)) for c in clients]
            writers = [Dependencies(c, r, Partitions(c, settings.partitions))
                       for c, r in zip(clients, registries, strict=True)]  # fmt: skip
            x = (await registries[0].register("x", None))[1].system_id
            y = (await registries[0].register("y", None))[1].system_id
            for _ in range(20):
                got = await asyncio.gather(
                    writers[0].set(x, [y]), writers[1].set(y, [x]), return_exceptions=True
                )
                refused = [g for g in got if isinstance(g, InvalidInput)]
                assert len(refused) == 1, got  # the script runs one at a time: one wins
                assert "cycle" in refused[0].errors()[0]["msg"]
                graph = await writers[0].graph()
                assert len(graph.edges()) == 1
                await writers[0].set(x, [])
                await writers[0].set(y, [])
        finally:
            for c in clients:
                await c.aclose()

    asyncio.run(main())


def test_another_process_sees_a_change_at_its_next_check(settings: Settings) -> None:
    async def main() -> None:
        client = async_client(settings)
        try:
            registry = Registry(client, 0.0, Partitions(client, settings.partitions))
            one = Dependencies(client, registry, Partitions(client, settings.partitions))
            other = Dependencies(client, registry, Partitions(client, settings.partitions))
            a = (await registry.register("a", None))[1].system_id
            b = (await registry.register("b", None))[1].system_id
            assert (await one.graph()).edges() == []
            await other.set(b, [a])
            assert (await one.graph()).edges() == []  # trusted until its next check
            one._checked_s -= 1.0
            assert (await one.graph()).edges() == [(a, b)]
        finally:
            await client.aclose()

    asyncio.run(main())
