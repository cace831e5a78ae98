"""The dependency graph in the registry (`lso:{reg}:depends_on`, `lso:{reg}:dependents`), and the
failing upstreams of systems, read from the verdicts the evaluator recorded.

Each process keeps a copy of the graph and reads it again only when `lso:{reg}:graph_version`
changed (checked at most every `check_s`), so a question about a system costs the verdicts of its
upstream closure, never the fleet, and a system without dependencies costs a dict lookup.
"""

import time
from collections.abc import Iterable, Sequence

import orjson

from shared.errors import InvalidInput, SystemNotFound
from shared.model.dependencies import (
    Failing,
    Graph,
    UpstreamFailure,
    failing_roots,
    failures,
)
from shared.model.verdict import Verdict
from shared.services.registry import Registry
from shared.store import keys, scripts
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions

MAX_DEPENDS_ON = 100  # direct upstreams of one system
# An outbox score the next dispatch takes whatever its clock (the API's and the jobs' clocks are
# different ones in tests, and may differ by a little between hosts)
AT_ONCE = 0
_VERDICTS = {v.value: v for v in Verdict}


class Dependencies:
    def __init__(
        self, client: AsyncRedis, registry: Registry, partitions: Partitions, check_s: float = 1.0
    ) -> None:
        self._client = client
        self._registry = registry
        self._partitions = partitions
        self._check_s = check_s
        self._script = client.register_script(scripts.source(scripts.DEPENDENCIES))
        self._graph = Graph()
        self._checked_s = float("-inf")
        self.reads = 0  # verdicts read for upstream questions (tests: bounded by the subgraph)

    async def graph(self) -> Graph:
        """The current graph (as of at most `check_s` ago)."""
        now = time.monotonic()
        if now - self._checked_s < self._check_s:
            return self._graph
        raw = await self._client.get(keys.GRAPH_VERSION)
        version = int(raw or 0)
        if version != self._graph.version:
            pipe = self._client.pipeline(transaction=True)  # one version of both hashes
            pipe.get(keys.GRAPH_VERSION)
            pipe.hgetall(keys.DEPENDS_ON)
            pipe.hgetall(keys.DEPENDENTS)
            raw, ups, downs = await pipe.execute()
            self._graph = Graph(int(raw or 0), _parse(ups), _parse(downs))
        self._checked_s = now
        return self._graph

    async def resolve(self, refs: Sequence[int | str]) -> list[int]:
        """The ids of `refs` (ids, or names as the registry knows them), in order, without
        repeats; InvalidInput naming each one (`body.depends_on.<i>`) that is not a system."""
        ids: list[int] = []
        problems = []
        for i, ref in enumerate(refs):
            found = await self._registry.id_of(ref) if isinstance(ref, str) else ref
            if found is None or await self._registry.get(found) is None:
                problems.append({"type": "value_error", "loc": ["body", "depends_on", i],
                                 "msg": f"no system {ref!r}", "input": ref})  # fmt: skip
            elif found not in ids:
                ids.append(found)
        if problems:
            raise InvalidInput(problems)
        return ids

    async def set(self, system_id: int, refs: Sequence[int | str]) -> list[int]:
        """Replace the system's direct upstreams; returns their ids. SystemNotFound for the
        system, InvalidInput (at `body.depends_on`) for an unknown upstream or a cycle."""
        if await self._registry.get(system_id) is None:
            raise SystemNotFound(system_id)
        ids = await self.resolve(refs)
        self._checked_s = float("-inf")
        before = await self.graph()
        call = scripts.dependencies_set(system_id, ids)
        reply = await self._script(keys=call.keys, args=call.args)
        # Refused or not, the graph may have changed since `before` (another writer's edges,
        # the very ones that make this one a cycle): the next look reads it again.
        self._checked_s = float("-inf")
        status = int(reply[0])
        if status == scripts.DependenciesStatus.UNKNOWN_SYSTEM:
            raise SystemNotFound(system_id)
        if status == scripts.DependenciesStatus.UNKNOWN_UPSTREAM:  # deleted meanwhile
            gone = int(reply[1])
            raise InvalidInput([{"type": "value_error", "loc": ["body", "depends_on",
                                 ids.index(gone)], "msg": f"no system {gone}",
                                 "input": gone}])  # fmt: skip
        if status == scripts.DependenciesStatus.CYCLE:
            cycle = [int(i) for i in reply[1:]]
            names = await self._names(cycle)
            path = " → ".join(f"{names.get(i, i)} ({i})" for i in cycle)
            raise InvalidInput([{"type": "value_error", "loc": ["body", "depends_on"],
                                 "msg": f"would close a cycle: {path}", "input": refs,
                                 "ctx": {"cycle": cycle}}])  # fmt: skip
        self._checked_s = float("-inf")
        after = await self.graph()
        # Its answer and those of its downstreams may name other upstreams now (health_memo).
        # and one held for an upstream it no longer has is released.
        await self.touch([system_id, *before.downstream_closure(system_id),
                          *after.downstream_closure(system_id)],
                         release_ms=AT_ONCE)  # fmt: skip
        return ids

    async def drop(self, system_id: int) -> list[int]:
        """Remove every edge of a deleted system; its former downstreams (direct or transitive)
        have one upstream less, and any notification of theirs held for it is released (in
        `release_after_s`, as on a recovery). Returns those downstreams."""
        self._checked_s = float("-inf")
        before = await self.graph()
        if system_id not in before.upstreams and system_id not in before.downstreams:
            return []
        call = scripts.dependencies_drop(system_id)
        await self._script(keys=call.keys, args=call.args)
        self._checked_s = float("-inf")
        closure = before.downstream_closure(system_id)
        await self.touch(closure, release_ms=AT_ONCE)
        return closure

    async def touch(self, system_ids: Iterable[int], release_ms: int | None) -> None:
        """The systems' answers changed with an upstream: a new data version for each (the
        health memo), and with `release_ms` each is put in its outbox by then, where a
        notification held for an upstream is released (shared/store/lua/notify.lua)."""
        pipe = self._client.pipeline(transaction=False)
        for sid in dict.fromkeys(system_ids):
            p = await self._partitions.of(sid)
            pipe.hincrby(keys.system_meta(p, sid), keys.Meta.VERSION, 1)
            if release_ms is not None:
                pipe.zadd(keys.outbox(p), {str(sid): release_ms}, lt=True)
        await pipe.execute()

    async def recorded(self, system_ids: Iterable[int]) -> dict[int, Failing]:
        """The recorded verdicts of those systems (one HMGET a partition, one round trip)."""
        by_partition: dict[int, list[int]] = {}
        for sid in dict.fromkeys(system_ids):
            by_partition.setdefault(await self._partitions.of(sid), []).append(sid)
        if not by_partition:
            return {}
        pipe = self._client.pipeline(transaction=False)
        for p, ids in by_partition.items():
            pipe.hmget(keys.verdicts(p), [str(i) for i in ids])
            self.reads += len(ids)
        found: dict[int, Failing] = {}
        for ids, values in zip(by_partition.values(), await pipe.execute(), strict=True):
            for sid, value in zip(ids, values, strict=True):
                if value is not None:
                    v = orjson.loads(value)
                    found[sid] = Failing(_VERDICTS[v[0]], int(v[2]))
        return found

    async def failing_upstreams(
        self, system_ids: Sequence[int]
    ) -> dict[int, list[UpstreamFailure]]:
        """For each system with a failing upstream, the failing roots of its upstream closure
        (shared/model/dependencies.py); systems without one are left out."""
        graph = await self.graph()
        with_ups = [sid for sid in system_ids if graph.has_upstreams(sid)]
        if not with_ups:
            return {}
        closure = {u for sid in with_ups for u in graph.upstream_closure(sid)}
        recorded = await self.recorded(closure)
        roots = {sid: failing_roots(graph, sid, recorded.get) for sid in with_ups}
        names = await self._names({u for found in roots.values() for u in found})
        return {sid: failures(found, recorded.get, names) for sid, found in roots.items() if found}

    async def _names(self, system_ids: Iterable[int]) -> dict[int, str]:
        known = await self._registry.require_many(list(dict.fromkeys(system_ids)))
        return {sid: k.system.name for sid, k in known.items()}


def _parse(fields: dict[bytes, bytes]) -> dict[int, tuple[int, ...]]:
    return {int(k): tuple(int(i) for i in orjson.loads(v)) for k, v in fields.items()}
