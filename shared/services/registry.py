"""The system registry: names to ids, assigned atomically by shared/store/lua/register.lua."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.errors import SystemNotFound
from shared.model.policy import Policy
from shared.model.systems import System
from shared.store import keys, scripts
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions

# What a process read of a system (that it exists, its rate limit, its policy) is trusted until
# the registry's generation changes, which every process checks every GENERATION_CHECK_S: a
# limit changed on one replica applies on every replica within that time. KNOWN_TTL_S bounds
# it besides. So 10 000 systems sending every 10 s do not each cost a registry read per batch.
GENERATION_CHECK_S = 1.0
KNOWN_TTL_S = 300.0


@dataclass(frozen=True)
class Known:
    """What the API keeps of a system between requests (for KNOWN_TTL_S)."""

    system: System
    rate_per_s: float
    policy: Policy


class Registry:
    def __init__(
        self, client: AsyncRedis, default_rate_per_s: float, partitions: Partitions
    ) -> None:
        self._partitions = partitions
        self._client = client
        self._default_rate_per_s = default_rate_per_s
        self._register = client.register_script(scripts.source(scripts.REGISTER))
        self._known: dict[int, tuple[float, Known]] = {}  # id -> (trusted until, what we know)
        self._ids: dict[str, tuple[float, int]] = {}  # name -> (trusted until, id)
        self._listed: tuple[tuple[int, int], Sequence[System]] | None = None  # (version, systems)
        self._generation: bytes | str | None = None
        self._generation_checked_s = float("-inf")
        # Registrations and deletions made through this process, so that what it answers next
        # (the fleet overview's snapshot) can follow them without a store call.
        self.local_changes = 0

    async def register(self, name: str, description: str | None) -> tuple[bool, System]:
        """Create the system, or return the existing one of that name; True when created."""
        created_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        call = scripts.register(name, description, created_at)
        status, doc = await self._register(keys=call.keys, args=call.args)
        system = System.model_validate_json(doc)
        created = status == scripts.RegisterStatus.CREATED
        if created:
            self.local_changes += 1
            await self._to_evaluate(system.system_id)
        return created, system

    async def register_many(
        self, systems: list[tuple[str, str | None, Policy | None]]
    ) -> list[tuple[bool, System]]:
        """`register` and `set_policy` for each (name, description, policy), in a few round
        trips whatever their number: the fleet's bulk registration."""
        created_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        await self._client.script_load(self._register.script)  # pipelines do not retry NOSCRIPT
        pipe = self._client.pipeline(transaction=False)
        for name, description, _ in systems:
            call = scripts.register(name, description, created_at)
            pipe.evalsha(self._register.sha, len(call.keys), *call.keys, *call.args)
        registered = [
            (int(status) == scripts.RegisterStatus.CREATED, System.model_validate_json(doc))
            for status, doc in await pipe.execute()
        ]
        self.local_changes += 1
        now_ms = int(time.time() * 1000)
        pipe = self._client.pipeline(transaction=False)
        for (created, system), (_, _, policy) in zip(registered, systems, strict=True):
            sid = system.system_id
            partition = await self._partitions.of(sid)
            if policy is not None:
                pipe.hset(
                    keys.REGISTRY_POLICIES, str(sid), policy.model_dump_json(exclude_none=True)
                )
                pipe.hincrby(keys.system_meta(partition, sid), keys.Meta.VERSION, 1)
                self._known.pop(sid, None)
            if created or policy is not None:
                pipe.zadd(keys.dirty(partition), {str(sid): now_ms}, nx=True)
        if any(policy is not None for _, _, policy in systems):
            pipe.incr(keys.REGISTRY_GENERATION)
        await pipe.execute()
        return registered

    async def id_of(self, name: str) -> int | None:
        """The id of the system named `name` (None: no such system). Answers are cached as
        `require`'s are: the adapters that name systems (OpenLineage, OTLP) look one up per
        request."""
        now = time.monotonic()
        if now - self._generation_checked_s >= GENERATION_CHECK_S:
            await self._check_generation(now)
        cached = self._ids.get(name)
        if cached and cached[0] > now:
            return cached[1]
        found = await self._client.hget(keys.REGISTRY_BY_NAME, name)
        if found is None:
            return None
        if len(self._ids) > 100_000:
            self._ids.clear()
        self._ids[name] = (now + KNOWN_TTL_S, int(found))
        return int(found)

    async def list(self) -> list[System]:
        """Every system, by id."""
        return list((await self.listing())[1])

    async def listing(self) -> tuple[tuple[int, int], Sequence[System]]:
        """(version, every system by id; do not modify it). Parsed once per change of the
        registry in this process: the id sequence and the number of systems change with every
        registration and deletion (a system's document never changes), so reading them says
        whether the copy is current, and a fleet of 10 000 systems is not parsed per request."""
        pipe = self._client.pipeline(transaction=False)
        pipe.get(keys.REGISTRY_SEQ)
        pipe.hlen(keys.REGISTRY_SYSTEMS)
        seq, count = await pipe.execute()
        version = (int(seq or 0), int(count))
        if self._listed is not None and self._listed[0] == version:
            return self._listed
        docs = await self._client.hvals(keys.REGISTRY_SYSTEMS)
        systems = sorted((System.model_validate_json(d) for d in docs), key=lambda s: s.system_id)
        if len(systems) == version[1]:  # else it changed meanwhile: parse again next time
            self._listed = (version, systems)
        return version, systems

    async def get(self, system_id: int) -> System | None:
        doc = await self._client.hget(keys.REGISTRY_SYSTEMS, str(system_id))
        return None if doc is None else System.model_validate_json(doc)

    async def require(self, system_id: int) -> Known:
        """The system with its rate limit and policy; SystemNotFound unless it exists.
        Answers are cached until the registry's generation changes (at most KNOWN_TTL_S)."""
        now = time.monotonic()
        cached = self._known.get(system_id)  # the hot path: every request asks
        if cached and cached[0] > now and now - self._generation_checked_s < GENERATION_CHECK_S:
            return cached[1]
        found = await self.require_many([system_id])
        if system_id not in found:
            raise SystemNotFound(system_id)
        return found[system_id]

    async def require_many(self, system_ids: Sequence[int]) -> dict[int, Known]:
        """`require` of each system, those that do not exist left out; what is not cached is
        read in one round trip for all (the evaluator's batches)."""
        now = time.monotonic()
        if now - self._generation_checked_s >= GENERATION_CHECK_S:
            await self._check_generation(now)
        found: dict[int, Known] = {}
        missing = []
        for system_id in system_ids:
            cached = self._known.get(system_id)
            if cached and cached[0] > now:
                found[system_id] = cached[1]
            else:
                missing.append(system_id)
        if not missing:
            return found
        pipe = self._client.pipeline(transaction=False)
        for system_id in missing:
            pipe.hget(keys.REGISTRY_SYSTEMS, str(system_id))
            pipe.hget(keys.REGISTRY_RATE_LIMITS, str(system_id))
            pipe.hget(keys.REGISTRY_POLICIES, str(system_id))
        replies = await pipe.execute()
        if len(self._known) + len(missing) > 100_000:
            self._known.clear()
        for i, system_id in enumerate(missing):
            doc, rate, policy = replies[3 * i : 3 * i + 3]
            if doc is None:
                continue
            known = Known(
                system=System.model_validate_json(doc),
                rate_per_s=self._default_rate_per_s if rate is None else float(rate),
                policy=Policy() if policy is None else Policy.model_validate_json(policy),
            )
            self._known[system_id] = (now + KNOWN_TTL_S, known)
            found[system_id] = known
        return found

    async def _check_generation(self, now: float) -> None:
        """Forget what is cached of systems when any process changed the registry since."""
        generation = await self._client.get(keys.REGISTRY_GENERATION)
        if generation != self._generation:
            self._known.clear()
            self._ids.clear()
            self._generation = generation
        self._generation_checked_s = now

    async def _changed(self) -> None:
        """Tell every process that what it cached of systems may be wrong (see require)."""
        await self._client.incr(keys.REGISTRY_GENERATION)

    async def set_policy(self, system_id: int, policy: Policy) -> None:
        """Store the system's policy (fields left out: the defaults)."""
        doc = policy.model_dump_json(exclude_none=True)
        await self._client.hset(keys.REGISTRY_POLICIES, str(system_id), doc)
        await self._changed()
        self._known.pop(system_id, None)
        # A new policy changes the answer of a health read: a new data version (health_memo).
        meta = keys.system_meta(await self._partitions.of(system_id), system_id)
        await self._client.hincrby(meta, keys.Meta.VERSION, 1)
        await self._to_evaluate(system_id)

    async def _to_evaluate(self, system_id: int) -> None:
        """Have the jobs evaluate the system in their next pass (as new events do): a new
        system, or a new policy, gets its verdict and its silence due time within a second."""
        partition = await self._partitions.of(system_id)
        now_ms = int(time.time() * 1000)
        await self._client.zadd(keys.dirty(partition), {str(system_id): now_ms}, nx=True)

    async def delete(self, system_id: int) -> tuple[System, int] | None:
        """Unregister the system; returns it and its partition (None: unknown). Its tombstone is
        written first, so entries still in its stream are dropped rather than applied again."""
        system = await self.get(system_id)
        if system is None:
            return None
        partition = await self._partitions.of(system_id)
        await self._client.set(keys.deleted(partition, system_id), int(time.time() * 1000))
        pipe = self._client.pipeline(transaction=True)
        pipe.hdel(keys.REGISTRY_SYSTEMS, str(system_id))
        pipe.hdel(keys.REGISTRY_BY_NAME, system.name)
        pipe.hdel(keys.REGISTRY_RATE_LIMITS, str(system_id))
        pipe.hdel(keys.REGISTRY_POLICIES, str(system_id))
        pipe.incr(keys.REGISTRY_GENERATION)
        await pipe.execute()
        self.local_changes += 1
        self._known.pop(system_id, None)
        self._ids.pop(system.name, None)
        return system, partition

    async def rate_limit(self, system_id: int) -> float | None:
        """The system's own limit (None: the default applies)."""
        value = await self._client.hget(keys.REGISTRY_RATE_LIMITS, str(system_id))
        return None if value is None else float(value)

    async def set_rate_limit(self, system_id: int, events_per_s: float | None) -> None:
        if events_per_s is None:
            await self._client.hdel(keys.REGISTRY_RATE_LIMITS, str(system_id))
        else:
            await self._client.hset(keys.REGISTRY_RATE_LIMITS, str(system_id), repr(events_per_s))
        await self._changed()
        self._known.pop(system_id, None)
