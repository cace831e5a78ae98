"""A system's life: registration with its first ingest key, and deletion with everything that
hangs off it (keys, channels, data)."""

from dataclasses import dataclass

from shared.errors import SystemNotFound
from shared.model.policy import Policy
from shared.model.systems import System
from shared.services.api_keys import KeyRecord, KeyStore
from shared.services.dependencies import Dependencies
from shared.services.jobs import Jobs
from shared.services.notifications import Channels
from shared.services.registry import Registry


@dataclass(frozen=True)
class Registered:
    system: System
    created: bool  # False: the name existed already
    first_key: tuple[str, KeyRecord] | None  # (token, record) of a new system's first key


@dataclass(frozen=True)
class Deleted:
    system: System
    purge_job: str


class Lifecycle:
    def __init__(
        self,
        registry: Registry,
        key_store: KeyStore,
        channels: Channels,
        jobs: Jobs,
        dependencies: Dependencies,
    ) -> None:
        self._registry = registry
        self._dependencies = dependencies
        self._keys = key_store
        self._channels = channels
        self._jobs = jobs

    async def register(
        self,
        name: str,
        description: str | None,
        policy: Policy | None,
        first_key: bool = True,
    ) -> Registered:
        """Register a system, idempotently by name (`policy`, already validated, is set in both
        cases); a new system gets its first ingest key unless `first_key` is False (systems that
        an adapter creates on first report: their reporter holds a key already)."""
        created, system = await self._registry.register(name, description)
        if policy is not None:
            await self._registry.set_policy(system.system_id, policy)
        if not created or not first_key:
            return Registered(system, created, None)
        key = await self._keys.create("ingest", [system.system_id], "first key")
        return Registered(system, True, key)

    async def register_many(
        self, systems: list[tuple[str, str | None, Policy | None]]
    ) -> list[Registered]:
        """`register` for many systems at once, without first keys (the caller, an admin, holds
        a key for all of them; `POST /systems/{id}/keys` issues per-system ones)."""
        return [
            Registered(system, created, None)
            for created, system in await self._registry.register_many(systems)
        ]

    async def delete(self, system_id: int) -> Deleted:
        """Unregister the system at once, revoke the keys scoped to it alone and its channels,
        remove its dependency edges (releasing what was held for it), and enqueue the purge of
        its data. SystemNotFound unless it exists."""
        deleted = await self._registry.delete(system_id)
        if deleted is None:
            raise SystemNotFound(system_id)
        system, partition = deleted
        await self._dependencies.drop(system_id)
        for key in await self._keys.for_system(system_id):
            if key.systems == [system_id]:
                await self._keys.revoke(system_id, key.key_id)
        await self._channels.delete_all_of(system_id)
        return Deleted(system, await self._jobs.purge(partition, system_id))
