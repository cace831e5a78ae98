"""What a process caches of systems is trusted until another process changes the registry, and
no longer than its next generation check (GENERATION_CHECK_S), against a real store."""

import asyncio

from shared.services.registry import GENERATION_CHECK_S, Registry
from shared.settings import Settings
from shared.store.client import async_client
from shared.store.partitions import Partitions


def test_a_change_by_another_process_is_seen_at_the_next_generation_check(
    settings: Settings,
) -> None:
    async def main() -> None:
        client = async_client(settings)
        one, other = (Registry(client, 0.0, Partitions(client, settings.partitions)) for _ in "ab")
        try:
            _, system = await one.register("cached", None)
            sid = system.system_id
            assert (await one.require(sid)).rate_per_s == 0.0
            await other.set_rate_limit(sid, 5.0)
            assert (await one.require(sid)).rate_per_s == 0.0  # trusted until its next check
            one._generation_checked_s -= GENERATION_CHECK_S  # a second later
            assert (await one.require(sid)).rate_per_s == 5.0
            assert await one.id_of("cached") == sid
            await other.delete(sid)
            one._generation_checked_s -= GENERATION_CHECK_S
            assert await one.id_of("cached") is None  # a deletion is seen the same way
        finally:
            await client.aclose()

    asyncio.run(main())
