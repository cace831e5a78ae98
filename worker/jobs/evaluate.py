"""The evaluator (an rq job): compute verdicts with the very code `GET /systems/{id}/health`
uses, record each change once (shared/store/lua/transition.lua), then tell whom it concerns.

A normal pass evaluates the systems that had events applied since the last pass (the workers'
`dirty` sets) and those whose verdict falls due by time alone (the `due` sets, written here
after each evaluation: silence, or the oldest events leaving a window): its cost follows those
systems, not the fleet. The systems go CHUNK at a time, each chunk in two round trips (every
health read; every verdict and due time), with the registry's entries cached across passes.

A change of whether a system fails (UNHEALTHY) concerns its downstreams (direct or transitive:
their answers name it, their notifications are held while it fails): only that closure is touched
(a new data version each, and on a recovery a look at their held notifications), from the
dependency graph each process keeps, so a system without dependencies costs a dict lookup.

A sweep evaluates the systems not evaluated for LSO_REEVALUATE_AFTER_S (the safety net for a
due time lost), puts back in the outbox any system whose notified verdict is behind (after a
mute ended, or a crash), and re-enqueues deliveries whose job is gone.
"""

import logging
from datetime import datetime

from shared.errors import PolicyConflict
from shared.model.dependencies import FAILING, held_reason
from shared.model.policy import EffectivePolicy, Policy, resolve_stored
from shared.services.dependencies import Dependencies
from shared.services.health import HealthReader
from shared.services.registry import Registry
from shared.services.verdicts import Verdicts
from shared.settings import Settings
from shared.store import keys, scripts
from shared.store.client import AsyncRedis, text
from shared.store.partitions import Partitions
from worker.jobs import context, groups, notify

log = logging.getLogger("lso.jobs")

TRANSITIONS_KEPT = 1000  # per system
DIRTY_PER_PASS = 10_000  # per partition
CHUNK = 500  # systems read and recorded per round trip
UNTOLD_PER_ROUND_TRIP = 1000


def evaluate(sweep: bool = False) -> dict[str, int]:
    """One pass (an rq job); returns what it did, for the job's result."""
    s = context.settings()
    streams, evaluated, changed = context.run(lambda client: _evaluate(client, s, sweep))
    client = context.client()
    now_ms = context.now_ms()
    told = reconciled = 0

    def holds(system_ids: list[int]) -> dict[int, tuple[str, int]]:
        return context.run(lambda store: _kept_for(store, s).holds(system_ids))

    for p in range(streams):
        told += notify.dispatch(client, p, now_ms, holds)
        if sweep:
            reconciled += notify.reconcile(client, p, now_ms)
    if sweep:
        reconciled += groups.reconcile(client, now_ms)
    return {"evaluated": evaluated, "transitions": changed, "deliveries": told,
            "reconciled": reconciled}  # fmt: skip


_kept: list["_Evaluator"] = []


def _kept_for(client: AsyncRedis, s: Settings) -> "_Evaluator":
    # One evaluator per client, kept across passes: its registry cache is what makes a pass
    # cost the systems it evaluates and not one registry read each.
    if not _kept or _kept[0].client is not client or _kept[0].settings is not s:
        _kept[:] = [_Evaluator(client, s)]
    return _kept[0]


async def _evaluate(client: AsyncRedis, s: Settings, sweep: bool) -> tuple[int, int, int]:
    evaluator = _kept_for(client, s)
    layout = await evaluator.partitions.layout()
    now_ms = context.now_ms()
    if sweep:
        ids = await evaluator.stale(now_ms - s.reevaluate_after_s * 1000)
    else:
        ids = await evaluator.dirty(layout.streams, now_ms)
    changed = 0
    for first in range(0, len(ids), CHUNK):
        changed += await evaluator.many(ids[first : first + CHUNK])
    if sweep:
        await evaluator.put_back_untold()
    return layout.streams, len(ids), changed


class _Evaluator:
    def __init__(self, client: AsyncRedis, settings: Settings) -> None:
        self.client, self.settings = client, settings
        self.partitions = Partitions(client, settings.partitions)
        self.registry = Registry(client, settings.rate_limit_events_per_s, self.partitions)
        self.reader = HealthReader(client, settings, self.partitions)
        self.verdicts = Verdicts(client, self.partitions)
        # The graph's version is read once a call: a pass sees an edge set a moment ago.
        self.dependencies = Dependencies(client, self.registry, self.partitions, check_s=0.0)
        self.transition = client.register_script(scripts.source(scripts.TRANSITION))
        self.due_take = client.register_script(scripts.source(scripts.DUE_TAKE))
        self._policies: dict[int, tuple[Policy, EffectivePolicy]] = {}

    async def dirty(self, streams: int, now_ms: int) -> list[int]:
        """The systems to evaluate in a pass: those with new events, and those whose verdict
        falls due by time alone (silence, old events leaving the window), each taken off its
        set atomically."""
        found: set[int] = set()
        for p in range(streams):
            popped: list[tuple[bytes, float]] = await self.client.zpopmin(  # type: ignore[assignment]
                keys.dirty(p), DIRTY_PER_PASS
            )
            found.update(int(member) for member, _ in popped)
            call = scripts.due_take(p, now_ms, DIRTY_PER_PASS)
            found.update(
                int(member) for member in await self.due_take(keys=call.keys, args=call.args)
            )
        return sorted(found)

    async def stale(self, evaluated_before_ms: int) -> list[int]:
        """The sweep's systems: those without a verdict evaluated since `evaluated_before_ms`
        (never evaluated, or a due time lost), so that its cost follows what was missed."""
        recorded = await self.verdicts.all()
        _, systems = await self.registry.listing()
        return [
            system.system_id
            for system in systems
            if (kept := recorded.get(system.system_id)) is None
            or kept.evaluated_ms < evaluated_before_ms
        ]

    async def put_back_untold(self) -> None:
        """Put back in the outbox every system whose notified verdict is not its verdict (a
        mute that ended, a crash between a change and its dispatch)."""
        _, systems = await self.registry.listing()
        now_ms = context.now_ms()
        for first in range(0, len(systems), UNTOLD_PER_ROUND_TRIP):
            chunk = systems[first : first + UNTOLD_PER_ROUND_TRIP]
            where = [await self.partitions.of(system.system_id) for system in chunk]
            pipe = self.client.pipeline(transaction=False)
            for system, p in zip(chunk, where, strict=True):
                pipe.hmget(keys.verdict(p, system.system_id),
                           [keys.VerdictState.VERDICT, keys.VerdictState.NOTIFIED])  # fmt: skip
            behind: dict[int, dict[str, int]] = {}
            for system, p, (verdict, notified) in zip(chunk, where, await pipe.execute(),
                                                     strict=True):  # fmt: skip
                if verdict is not None and verdict != notified:
                    behind.setdefault(p, {})[str(system.system_id)] = now_ms
            if behind:
                pipe = self.client.pipeline(transaction=False)
                for p, mapping in behind.items():
                    pipe.zadd(keys.outbox(p), mapping, nx=True)
                await pipe.execute()

    def _effective(self, policy: Policy) -> EffectivePolicy:
        """The policy with the defaults filled in, kept per stored policy: the registry keeps
        the same Policy object until it changes, and resolving one costs ~30 µs."""
        kept = self._policies.get(id(policy))
        if kept is None or kept[0] is not policy:
            if len(self._policies) > 100_000:
                self._policies.clear()
            kept = self._policies[id(policy)] = (policy, resolve_stored(policy, self.settings))
        return kept[1]

    async def many(self, system_ids: list[int]) -> int:
        """Evaluate the systems (their health reads in one round trip, their verdicts and due
        times recorded in another); returns how many verdicts changed."""
        known = await self.registry.require_many(system_ids)  # the deleted are left out
        todo: list[tuple[int, EffectivePolicy, datetime]] = []
        for system_id, k in known.items():
            try:
                todo.append((system_id, self._effective(k.policy), k.system.created_at))
            except PolicyConflict as exc:
                log.warning("system %d not evaluated: %s", system_id, exc)
        if not todo:
            return 0
        now = context.now()
        now_ms = int(now.timestamp() * 1000)
        judged = await self.reader.judge_many(todo, now)
        by_partition: dict[int, list[scripts.Evaluation]] = {}
        pipe = self.client.pipeline(transaction=False)
        due: dict[int, dict[str, int]] = {}
        not_due: dict[int, list[str]] = {}
        for (system_id, policy, created_at), j in zip(todo, judged, strict=True):
            p = await self.partitions.of(system_id)
            by_partition.setdefault(p, []).append(
                scripts.Evaluation(
                    system_id,
                    j.verdict.value,
                    j.reason,
                    j.events,
                    j.error_ratio,
                    j.p95_ms,
                    j.last_event_ms or 0,
                )
            )
            due_ms = min(
                (t for t in (silence_due_ms(policy, j.last_event_ms, created_at), j.changes_ms)
                 if t is not None),
                default=None,
            )  # fmt: skip
            if due_ms is not None and due_ms > now_ms:
                due.setdefault(p, {})[str(system_id)] = due_ms
            else:
                not_due.setdefault(p, []).append(str(system_id))
        changed = 0
        flips: list[tuple[int, bool]] = []  # (system, fails now) for a change of failing
        for p, evaluated in by_partition.items():
            call = scripts.transitions(p, evaluated, now_ms, TRANSITIONS_KEPT)
            reply = await self.transition(keys=call.keys, args=call.args)
            for e, status, before in zip(evaluated, reply[::2], reply[1::2], strict=True):
                if int(status) == scripts.TransitionStatus.CHANGED:
                    changed += 1
                    log.info("system %d: %s -> %s (%s)", e.system_id, text(before) or "-",
                             e.verdict, e.reason)  # fmt: skip
                    fails = e.verdict == FAILING.value
                    if fails != (text(before) == FAILING.value):
                        flips.append((e.system_id, fails))
        if flips:
            await self._downstreams_of(flips, now_ms)
        for p, mapping in due.items():
            pipe.zadd(keys.due(p), mapping)
        for p, members in not_due.items():
            pipe.zrem(keys.due(p), *members)
        await pipe.execute()
        return changed

    async def _downstreams_of(self, flips: list[tuple[int, bool]], now_ms: int) -> None:
        """The systems whose failing changed concern their downstream closures: their answers
        change (a new data version), and after a recovery their held notifications are looked
        at (shared/store/lua/notify.lua releases them `release_after_s` later)."""
        graph = await self.dependencies.graph()
        recovered: list[int] = []
        failed: list[int] = []
        for system_id, fails in flips:
            if system_id in graph.downstreams:  # the one cheap check for most systems
                (failed if fails else recovered).extend(graph.downstream_closure(system_id))
        if recovered:
            await self.dependencies.touch(recovered, release_ms=now_ms)
        if failed:
            await self.dependencies.touch(failed, release_ms=None)

    async def holds(self, system_ids: list[int]) -> dict[int, tuple[str, int]]:
        """For the dispatch: each system's held reason ('' without a failing upstream) and its
        release_after_s in ms."""
        known = await self.registry.require_many(system_ids)
        upstream = await self.dependencies.failing_upstreams(system_ids)
        out = {}
        for system_id, k in known.items():
            try:
                release_ms = self._effective(k.policy).release_after_s * 1000
            except PolicyConflict:
                release_ms = notify.NOT_HELD[1]
            out[system_id] = (held_reason(upstream.get(system_id, [])), release_ms)
        return out


def silence_due_ms(
    policy: EffectivePolicy, last_event_ms: int | None, created_at: datetime
) -> int | None:
    """When the system falls silent if nothing arrives (its last event, else its registration,
    plus expected interval and grace, and a millisecond: silence is *more* than that), or None
    for a policy without an expected interval."""
    if policy.expected_interval_seconds is None:
        return None
    since_ms = int(created_at.timestamp() * 1000) if last_event_ms is None else last_event_ms
    return since_ms + (policy.expected_interval_seconds + policy.grace_seconds) * 1000 + 1
