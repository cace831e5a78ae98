"""Who is calling, and may they do this? API keys from `Authorization: Bearer` or `X-Api-Key`.

- 401 (with `WWW-Authenticate`) without a valid key; 429 after too many failures from one address.
- A system the caller may not see is answered 404, exactly like one that does not exist, so keys
  never reveal other tenants' ids; 403 only for a visible system and a forbidden action.
- Live keys are cached for one second per process, so a revoked key is refused within a second on
  every replica.
"""

import hmac
import logging
import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from shared.services.api_keys import KeyStore, Kind, token_hash
from shared.settings import Settings
from shared.store import keys
from shared.store.client import AsyncRedis

log = logging.getLogger("lso.api")

CACHE_S = 1.0
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="lso"'}


@dataclass(frozen=True)
class Principal:
    kind: Kind
    systems: frozenset[int]
    key_id: str
    namespace: str | None = None  # namespace keys: the systems named "<namespace>/…"

    def sees(self, system_id: int) -> bool:
        return self.kind == "admin" or system_id in self.systems

    def owns_name(self, name: str) -> bool:
        """A namespace key's systems are known by name, not by id."""
        return self.namespace is not None and name.startswith(self.namespace + "/")


ANONYMOUS_ADMIN = Principal("admin", frozenset(), "auth-off")


class Authenticator:
    def __init__(self, client: AsyncRedis, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self.store = KeyStore(client)
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._blocked: dict[str, float] = {}  # address -> refused until (monotonic)
        admin = settings.admin_token
        self._admin_hash = token_hash(admin.get_secret_value()) if admin else None

    async def principal(self, request: Request) -> Principal | None:
        """The caller, or None when the request carries no key at all."""
        if self._settings.auth == "off":
            return ANONYMOUS_ADMIN
        token = _token(request)
        if token is None:
            return None
        found = await self.check(token, request.client.host if request.client else "unknown")
        if found is None:
            raise HTTPException(401, "invalid or revoked API key", headers=CHALLENGE)
        return found

    async def check(self, token: str, address: str) -> Principal | None:
        """The live key of `token`, or None (a failure counted against `address`; 429 once that
        address has failed too often)."""
        # A valid key is never refused by the throttle: with 256-bit keys nobody guesses one, so
        # the throttle is against floods of bad keys, and must not let them lock out good ones.
        found = await self._lookup(token)
        if found is not None:
            return found
        blocked_until = self._blocked.get(address, 0.0)
        if blocked_until > time.monotonic():
            raise _too_many(blocked_until - time.monotonic())
        await self._count_failure(address)
        return None

    async def _lookup(self, token: str) -> Principal | None:
        digest = token_hash(token)
        if self._admin_hash is not None and hmac.compare_digest(digest, self._admin_hash):
            return Principal("admin", frozenset(), "env")
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached and cached[0] > now:
            return cached[1]
        record = await self.store.lookup(token)
        found = None
        if record is not None:
            found = Principal(record.kind, frozenset(record.systems), record.key_id,
                              record.namespace)  # fmt: skip
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + CACHE_S, found)
        return found

    async def _count_failure(self, address: str) -> None:
        """Count a failure in the store (shared by replicas); at the limit, refuse the address
        here until its minute is over. Successful requests never pay for this."""
        pipe = self._client.pipeline(transaction=True)
        pipe.incr(keys.auth_failures(address))
        pipe.expire(keys.auth_failures(address), 60, nx=True)
        pipe.ttl(keys.auth_failures(address))
        failures, _, ttl_s = await pipe.execute()
        log.warning("failed authentication from %s (%d this minute)", address, failures)
        if failures >= self._settings.auth_failures_per_min:
            now = time.monotonic()
            if len(self._blocked) > 10_000:  # many guessing addresses: forget the expired ones
                self._blocked = {a: t for a, t in self._blocked.items() if t > now}
            self._blocked[address] = now + max(int(ttl_s), 1)
            if failures > self._settings.auth_failures_per_min:
                raise _too_many(max(int(ttl_s), 1))


def _too_many(retry_after_s: float) -> HTTPException:
    return HTTPException(
        429,
        "too many failed authentications",
        headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))},
    )


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    api_key = request.headers.get("x-api-key")
    return api_key.strip() if api_key and api_key.strip() else None


async def _principal(request: Request) -> Principal | None:
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.principal(request)


CallerDep = Annotated[Principal | None, Depends(_principal)]


def known(caller: Principal | None) -> Principal:
    """Any caller with a key (401 without one)."""
    if caller is None:
        raise HTTPException(401, "an API key is required", headers=CHALLENGE)
    return caller


def admin(caller: Principal | None) -> Principal:
    p = known(caller)
    if p.kind != "admin":
        raise HTTPException(403, "this needs an admin key")
    return p


def ingest(caller: Principal | None, system_id: int, name: str | None = None) -> Principal:
    """May send events to the system: admin, an ingest key of that system, or a namespace key
    when the system's `name` is in its namespace (callers look the name up for those only)."""
    p = known(caller)
    if p.kind == "namespace":
        if name is None or not p.owns_name(name):
            raise HTTPException(404, f"system {system_id} not found")
        return p
    if not p.sees(system_id):
        raise HTTPException(404, f"system {system_id} not found")
    if p.kind not in ("admin", "ingest"):
        raise HTTPException(403, "this key may not send events")
    return p


def read(caller: Principal | None, system_id: int) -> Principal:
    """May read the system: admin, or a read key scoped to it."""
    p = known(caller)
    if not p.sees(system_id):
        raise HTTPException(404, f"system {system_id} not found")
    if p.kind not in ("admin", "read"):
        raise HTTPException(403, "this key may not read")
    return p


def readers_only(caller: Principal | None) -> Principal:
    """Listings: admin and read keys (which then see their own systems only)."""
    p = known(caller)
    if p.kind not in ("admin", "read"):
        raise HTTPException(403, f"a {p.kind} key may not list systems")
    return p


def any_key(caller: Principal | None) -> Principal:
    return known(caller)
