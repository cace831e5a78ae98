"""API keys: random 256-bit tokens, stored only as SHA-256 hashes, shown once at creation.

Used by the API (create, list, revoke, look up) and by `lso up` (the first admin key). A token looks
like `lso_<kind letter>_<43 url-safe characters>`; its first 12 characters are kept as a prefix so
people can tell keys apart in listings.
"""

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from shared.store import keys
from shared.store.client import AsyncRedis, SyncRedis

# admin: everything; ingest / read: send to / read the systems listed; ping: the ping URLs of one
# system (the token travels in the path); namespace: create and send to systems named
# "<namespace>/…" (the OpenLineage and OTLP adapters create systems by name).
Kind = Literal["admin", "ingest", "read", "ping", "namespace"]
PREFIX_CHARS = 12


class KeyRecord(BaseModel):
    key_id: str
    kind: Kind
    systems: list[int]
    prefix: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    namespace: str | None = None  # namespace keys only


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_key(
    kind: Kind, systems: list[int], name: str | None, namespace: str | None = None
) -> tuple[str, KeyRecord]:
    """A fresh token and its record."""
    token = f"lso_{kind[0]}_{secrets.token_urlsafe(32)}"
    record = KeyRecord(
        key_id=secrets.token_hex(8),
        kind=kind,
        systems=sorted(set(systems)),
        prefix=token[:PREFIX_CHARS],
        name=name,
        created_at=datetime.now(UTC),
        namespace=namespace,
    )
    return token, record


def create_sync(client: SyncRedis, kind: Kind, name: str | None) -> str:
    """Create a key from a synchronous client (`lso up`); returns the token."""
    token, record = new_key(kind, [], name)
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.API_KEYS, record.key_id, record.model_dump_json())
    pipe.hset(keys.API_KEY_HASHES, token_hash(token), record.key_id)
    pipe.execute()
    return token


class KeyStore:
    def __init__(self, client: AsyncRedis) -> None:
        self._client = client

    async def create(
        self, kind: Kind, systems: list[int], name: str | None, namespace: str | None = None
    ) -> tuple[str, KeyRecord]:
        token, record = new_key(kind, systems, name, namespace)
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(keys.API_KEYS, record.key_id, record.model_dump_json())
        pipe.hset(keys.API_KEY_HASHES, token_hash(token), record.key_id)
        await pipe.execute()
        return token, record

    async def lookup(self, token: str) -> KeyRecord | None:
        """The live key of this token, or None (unknown or revoked)."""
        key_id = await self._client.hget(keys.API_KEY_HASHES, token_hash(token))
        if key_id is None:
            return None
        doc = await self._client.hget(keys.API_KEYS, key_id)
        if doc is None:
            return None
        record = KeyRecord.model_validate_json(doc)
        return None if record.revoked_at is not None else record

    async def all(self) -> list[KeyRecord]:
        docs = await self._client.hvals(keys.API_KEYS)
        records = [KeyRecord.model_validate_json(d) for d in docs]
        return sorted(records, key=lambda r: r.created_at)

    async def for_system(self, system_id: int) -> list[KeyRecord]:
        return [r for r in await self.all() if system_id in r.systems]

    async def revoke(self, system_id: int | None, key_id: str) -> bool:
        """Revoke a key (scoped to the system, when one is given); False when there is no such
        key."""
        doc = await self._client.hget(keys.API_KEYS, key_id)
        if doc is None:
            return False
        record = KeyRecord.model_validate_json(doc)
        if system_id is not None and system_id not in record.systems:
            return False
        if record.revoked_at is None:
            record.revoked_at = datetime.now(UTC)
            # Drop the hash → id mapping too: a revoked token is then unknown everywhere.
            hashes: dict[bytes, bytes] = await self._client.hgetall(keys.API_KEY_HASHES)  # type: ignore[assignment]
            stale = [h for h, kid in hashes.items() if kid.decode() == key_id]
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(keys.API_KEYS, key_id, record.model_dump_json())
            if stale:
                pipe.hdel(keys.API_KEY_HASHES, *stale)
            await pipe.execute()
        return True
