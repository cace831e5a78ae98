"""The system registry: names to ids, assigned atomically by shared/lua/register.lua."""

import time
from datetime import UTC, datetime

import redis.asyncio as aioredis
from fastapi import HTTPException

from api.schemas.systems import System
from shared import keys, scripts

# Systems are never deleted today, so a positive lookup stays true; the TTL bounds how long a
# replica could keep accepting events for a system removed by a future admin action.
KNOWN_TTL_S = 30.0


class Registry:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._register = client.register_script(scripts.source(scripts.REGISTER))
        self._known_until: dict[int, float] = {}

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

    async def require(self, system_id: int) -> None:
        """Raise 404 unless the system exists (positive answers are cached briefly)."""
        if self._known_until.get(system_id, 0.0) > time.monotonic():
            return
        exists = await self._client.hexists(keys.REGISTRY_SYSTEMS, str(system_id))
        if not exists:
            raise HTTPException(404, f"system {system_id} not found")
        self._known_until[system_id] = time.monotonic() + KNOWN_TTL_S
