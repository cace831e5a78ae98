"""Public health badges: whether a system's owner made its badge public, and what a public badge
shows (the verdict the jobs recorded, NO_DATA before their first evaluation).

The setting lives in the system's partition (`keys.public_badges`), beside its recorded verdict,
so that a badge costs one round trip to one hash slot once the registry's cache knows the system.
A badge answers without a key, so what it shows is also kept SHOWN_TTL_S per process: a flood of
one badge costs the store nothing more, and a change made elsewhere shows within that time.
"""

import time
from dataclasses import dataclass

from shared.errors import SystemNotFound
from shared.model.verdict import Verdict
from shared.services.registry import Registry
from shared.store import keys
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions

_VERDICTS = {v.value: v for v in Verdict}
SHOWN_TTL_S = 1.0
MAX_SHOWN = 10_000  # systems whose badge answer is kept (ids scanned at random are not)


@dataclass(frozen=True)
class PublicVerdict:
    name: str
    verdict: Verdict


class Badges:
    def __init__(self, client: AsyncRedis, registry: Registry, partitions: Partitions) -> None:
        self._client = client
        self._registry = registry
        self._partitions = partitions
        self._shown: dict[int, tuple[float, PublicVerdict | None]] = {}  # id -> (until, shown)

    async def is_public(self, system_id: int) -> bool:
        key = keys.public_badges(await self._partitions.of(system_id))
        return bool(await self._client.hexists(key, str(system_id)))

    async def set_public(self, system_id: int, public: bool) -> None:
        """Make the system's badge public, or private again (the caller checked it exists)."""
        key = keys.public_badges(await self._partitions.of(system_id))
        if public:
            await self._client.hset(key, str(system_id), "1")
        else:
            await self._client.hdel(key, str(system_id))
        self._shown.pop(system_id, None)

    async def public_verdict(self, system_id: int) -> PublicVerdict | None:
        """What the badge shows; None when the system does not exist or its badge is private
        (alike: a badge must not tell which ids exist)."""
        now = time.monotonic()
        cached = self._shown.get(system_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        shown = await self._read(system_id)
        if len(self._shown) >= MAX_SHOWN:
            self._shown.clear()
        self._shown[system_id] = (now + SHOWN_TTL_S, shown)
        return shown

    async def _read(self, system_id: int) -> PublicVerdict | None:
        try:
            known = await self._registry.require(system_id)
        except SystemNotFound:
            return None
        partition = await self._partitions.of(system_id)
        pipe = self._client.pipeline(transaction=False)
        pipe.hexists(keys.public_badges(partition), str(system_id))
        pipe.hget(keys.verdict(partition, system_id), keys.VerdictState.VERDICT)
        public, recorded = await pipe.execute()
        if not public:
            return None
        if isinstance(recorded, bytes):
            recorded = recorded.decode()
        verdict = _VERDICTS.get(recorded or "", Verdict.NO_DATA)
        return PublicVerdict(known.system.name, verdict)
