"""The system registry: names to ids, assigned atomically by shared/lua/register.lua."""

import time
from datetime import UTC, datetime

import redis.asyncio as aioredis
from fastapi import HTTPException

from api.schemas.systems import System
from shared import keys, scripts

# How long a replica trusts what it read of a system (that it exists, its rate limit): a limit
# changed on one replica applies on every replica within this time.
KNOWN_TTL_S = 2.0


class Registry:
    def __init__(self, client: aioredis.Redis, default_rate_per_s: float) -> None:
        self._client = client
        self._default_rate_per_s = default_rate_per_s
        self._register = client.register_script(scripts.source(scripts.REGISTER))
        self._known: dict[int, tuple[float, float]] = {}  # id -> (trusted until, rate limit)

    async def register(self, name: str, description: str | None) -> tuple[bool, System]:
        """Create the system, or return the existing one of that name; True when created."""
        created_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        created, doc = await self._register(
            keys=[keys.REGISTRY_SEQ, keys.REGISTRY_BY_NAME, keys.REGISTRY_SYSTEMS],
            args=[name, description or "", created_at, "1" if description is not None else "0"],
        )
        return bool(created), System.model_validate_json(doc)

    async def list(self) -> list[System]:
        docs = await self._client.hvals(keys.REGISTRY_SYSTEMS)
        return sorted((System.model_validate_json(d) for d in docs), key=lambda s: s.system_id)

    async def get(self, system_id: int) -> System | None:
        doc = await self._client.hget(keys.REGISTRY_SYSTEMS, str(system_id))
        return None if doc is None else System.model_validate_json(doc)

    async def require(self, system_id: int) -> float:
        """Raise 404 unless the system exists; returns its ingest rate limit in events/s (0: none).
        Answers are cached for KNOWN_TTL_S."""
        now = time.monotonic()
        known = self._known.get(system_id)
        if known and known[0] > now:
            return known[1]
        pipe = self._client.pipeline(transaction=False)
        pipe.hexists(keys.REGISTRY_SYSTEMS, str(system_id))
        pipe.hget(keys.REGISTRY_RATE_LIMITS, str(system_id))
        exists, override = await pipe.execute()
        if not exists:
            raise HTTPException(404, f"system {system_id} not found")
        rate = self._default_rate_per_s if override is None else float(override)
        self._known[system_id] = (now + KNOWN_TTL_S, rate)
        return rate

    async def rate_limit(self, system_id: int) -> float | None:
        """The system's own limit (None: the default applies)."""
        value = await self._client.hget(keys.REGISTRY_RATE_LIMITS, str(system_id))
        return None if value is None else float(value)

    async def set_rate_limit(self, system_id: int, events_per_s: float | None) -> None:
        if events_per_s is None:
            await self._client.hdel(keys.REGISTRY_RATE_LIMITS, str(system_id))
        else:
            await self._client.hset(keys.REGISTRY_RATE_LIMITS, str(system_id), repr(events_per_s))
        self._known.pop(system_id, None)
