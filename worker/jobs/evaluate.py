"""The evaluator (an rq job): compute verdicts with the very code `GET /systems/{id}/health`
uses, record each change once (shared/store/lua/transition.lua), then tell whom it concerns.

A normal pass evaluates the systems that had events applied since the last pass (the workers'
`dirty` sets); a sweep evaluates every system, which is how silent ones are caught, and puts back
in the outbox any system whose notified verdict is behind (after a mute ended, or a crash).
"""

import asyncio
import logging
from datetime import datetime

from shared.errors import PolicyConflict, SystemNotFound
from shared.model.health import Health
from shared.model.policy import resolve_stored
from shared.services.health import HealthReader
from shared.services.registry import Registry
from shared.settings import Settings
from shared.store import keys, scripts
from shared.store.client import AsyncRedis, async_client, text
from shared.store.partitions import Partitions
from worker.jobs import context, notify

log = logging.getLogger("lso.jobs")

TRANSITIONS_KEPT = 1000  # per system
DIRTY_PER_PASS = 1000  # per partition


def evaluate(sweep: bool = False) -> dict[str, int]:
    """One pass (an rq job); returns what it did, for the job's result."""
    s = context.settings()
    streams, evaluated, changed = asyncio.run(_evaluate(s, sweep))
    client = context.client()
    now_ms = context.now_ms()
    told = reconciled = 0
    for p in range(streams):
        told += notify.dispatch(client, p, now_ms)
        if sweep:
            reconciled += notify.reconcile(client, p, now_ms)
    return {"evaluated": evaluated, "transitions": changed, "deliveries": told,
            "reconciled": reconciled}  # fmt: skip


async def _evaluate(s: Settings, sweep: bool) -> tuple[int, int, int]:
    client = async_client(s)
    try:
        evaluator = _Evaluator(client, s)
        layout = await evaluator.partitions.layout()
        if sweep:
            ids = [system.system_id for system in await evaluator.registry.list()]
        else:
            ids = await _dirty(client, layout.streams, context.now_ms())
        changed = 0
        for system_id in ids:
            changed += await evaluator.one(system_id, sweep)
        return layout.streams, len(ids), changed
    finally:
        await client.aclose()


async def _dirty(client: AsyncRedis, streams: int, now_ms: int) -> list[int]:
    """The systems to evaluate in this pass: those with new events, and those whose verdict
    falls due by time alone (silence), each taken off its set atomically."""
    found: set[int] = set()
    for p in range(streams):
        pipe = client.pipeline(transaction=True)
        pipe.zpopmin(keys.dirty(p), DIRTY_PER_PASS)
        pipe.zrangebyscore(keys.due(p), "-inf", now_ms, start=0, num=DIRTY_PER_PASS)
        pipe.zremrangebyscore(keys.due(p), "-inf", now_ms)
        popped, due, _ = await pipe.execute()
        found.update(int(member) for member, _ in popped)
        found.update(int(member) for member in due)
    return sorted(found)


class _Evaluator:
    def __init__(self, client: AsyncRedis, settings: Settings) -> None:
        self.client, self.settings = client, settings
        self.partitions = Partitions(client, settings.partitions)
        self.registry = Registry(client, settings.rate_limit_events_per_s, self.partitions)
        self.reader = HealthReader(client, settings, self.partitions)
        self.transition = client.register_script(scripts.source(scripts.TRANSITION))

    async def one(self, system_id: int, sweep: bool) -> int:
        """Evaluate one system; 1 when its verdict changed."""
        try:
            known = await self.registry.require(system_id)
            policy = resolve_stored(known.policy, self.settings)
        except SystemNotFound:
            return 0  # deleted meanwhile
        except PolicyConflict as exc:
            log.warning("system %d not evaluated: %s", system_id, exc)
            return 0
        now = context.now()
        health = await self.reader.read(system_id, policy, known.system.created_at, now)
        p = await self.partitions.of(system_id)
        now_ms = int(now.timestamp() * 1000)
        call = scripts.transition(
            p, system_id, health.health.value, health.reason, now_ms, TRANSITIONS_KEPT
        )
        reply = await self.transition(keys=call.keys, args=call.args)
        changed = int(reply[0]) == scripts.TransitionStatus.CHANGED
        due_ms = silence_due_ms(health, known.system.created_at)
        if due_ms is not None and due_ms > now_ms:
            await self.client.zadd(keys.due(p), {str(system_id): due_ms})
        else:
            await self.client.zrem(keys.due(p), str(system_id))
        if changed:
            before = text(reply[1]) or "-"
            log.info("system %d: %s -> %s (%s)", system_id, before, health.health, health.reason)
        if sweep:
            verdict, notified = await self.client.hmget(
                keys.verdict(p, system_id), [keys.VerdictState.VERDICT, keys.VerdictState.NOTIFIED]
            )
            if verdict != notified:
                await self.client.zadd(keys.outbox(p), {str(system_id): now_ms}, nx=True)
        return int(changed)


def silence_due_ms(health: Health, created_at: datetime) -> int | None:
    """When the system falls silent if nothing arrives (its last event, else its registration,
    plus expected interval and grace, and a millisecond: silence is *more* than that), or None
    for a policy without an expected interval."""
    p = health.policy
    if p.expected_interval_seconds is None:
        return None
    since = health.last_event_at or created_at
    return (
        int(since.timestamp() * 1000) + (p.expected_interval_seconds + p.grace_seconds) * 1000 + 1
    )
