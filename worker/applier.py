"""The processing contract: apply a set of stream entries, each exactly once, then acknowledge it.

The acknowledgement is part of the same atomic script as the side effects
(shared/store/lua/apply.lua), so there is no window in which an entry is applied but still
pending, or acknowledged but not applied. Undecodable entries go to the dead-letter stream, also
atomically with their XACK.
"""

import enum
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis

from shared.model.codec import Batch, UndecodableEntry, decode_batch
from shared.settings import Settings
from shared.store import keys, scripts
from shared.store.client import SyncRedis
from worker.plan import ApplyPlan, plan_apply
from worker.script_batch import MOVED_ERRORS, ScriptBatch, refresh_slots_if_moved

log = logging.getLogger("lso.worker")


@dataclass(frozen=True, slots=True)
class Entry:
    partition: int
    entry_id: str
    fields: dict[bytes, bytes]


class Outcome(enum.Enum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"  # another consumer acknowledged it first
    DEAD_LETTERED = "dead_lettered"
    FAILED = "failed"  # left pending; it is delivered again and dead-lettered after too many tries


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    events: int = 0


@dataclass
class Prepared:
    """A read's entries decoded and planned, their script calls queued but not sent."""

    entries: Sequence[Entry]
    now_ms: int
    results: list[Result | None]
    dead: list[int]  # indexes in entries of the undecodable ones, queued for the dead letters
    calls: ScriptBatch
    groups: list[list[tuple[int, Batch]]]
    plans: list[ApplyPlan]


class Applier(Protocol):
    def prepare(self, entries: Sequence[Entry]) -> Prepared:
        """Decode and plan the entries (CPU only: nothing is sent). The worker prepares a read
        while the store executes the one before."""
        ...

    def execute(self, prepared: Prepared) -> list[Result]:
        """Apply each prepared entry's effect and acknowledge it, atomically per entry.

        Re-applying an entry that was already acknowledged changes nothing. Raises a Redis
        connection error when the store cannot be reached; every entry not reported as applied or
        dead-lettered then stays pending.
        """
        ...

    def dead_letter(self, entry: Entry, reason: str, deliveries: int) -> bool:
        """Move the entry to the dead-letter stream with `reason`, atomically with its XACK.

        Returns False when the entry had already been acknowledged elsewhere.
        """
        ...


class RedisApplier:
    def __init__(self, client: SyncRedis, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._apply = client.register_script(scripts.source(scripts.APPLY))
        self._dead_letter = client.register_script(scripts.source(scripts.DEAD_LETTER))

    def apply(self, entries: Sequence[Entry]) -> list[Result]:
        """`execute(prepare(entries))`."""
        return self.execute(self.prepare(entries))

    def prepare(self, entries: Sequence[Entry]) -> Prepared:
        now_ms = int(time.time() * 1000)
        results: list[Result | None] = [None] * len(entries)
        pending: list[tuple[int, Batch]] = []  # (index in entries, batch)
        dead: list[int] = []
        for i, entry in enumerate(entries):
            try:
                pending.append((i, decode_batch(entry.fields)))
            except UndecodableEntry as exc:
                log.warning("dead-lettering undecodable entry %s: %s", entry.entry_id, exc)
                dead.append(i)
        calls = ScriptBatch(self._client)
        for i in dead:
            self.queue_dead_letter(calls, entries[i], "undecodable")
        groups, plans = self._queue(calls, entries, pending, now_ms, {})
        return Prepared(entries, now_ms, results, dead, calls, groups, plans)

    def _queue(
        self,
        calls: ScriptBatch,
        entries: Sequence[Entry],
        pending: list[tuple[int, Batch]],
        now_ms: int,
        duplicates: dict[int, set[int]],
    ) -> tuple[list[list[tuple[int, Batch]]], list[ApplyPlan]]:
        """Group and plan `pending`, queueing one script call per group on `calls`."""
        groups = _groups(entries, pending)
        plans = []
        for group in groups:
            known = {p: duplicates[i] for p, (i, _) in enumerate(group) if i in duplicates}
            plan = plan_apply(
                [(entries[i].entry_id, batch) for i, batch in group],
                entries[group[0][0]].partition,
                self._settings,
                now_ms,
                known,
            )
            plans.append(plan)
            self._apply(keys=plan.keys, args=plan.args, client=calls.pipe_for(plan.keys[0]))
        return groups, plans

    def execute(self, prepared: Prepared) -> list[Result]:
        entries, results, dead = prepared.entries, prepared.results, prepared.dead
        calls, groups, plans = prepared.calls, prepared.groups, prepared.plans
        resends = 1  # calls refused with MOVED/ASK (slots moved) are sent again once
        # Entries found stale are dropped from their group, and the group is planned again (rare:
        # only when another consumer applied or dead-lettered one of them meanwhile); so is a
        # group in which some event ids were applied before, without them.
        duplicates: dict[int, set[int]] = {}  # index in entries -> event indexes left out
        while groups or dead:
            replies = calls.execute()
            resend = resends > 0 and refresh_slots_if_moved(self._client, replies)
            resends -= resend
            for i, reply in zip(dead, replies, strict=False):
                _raise_if_connection_error(reply)
                if isinstance(reply, Exception):  # left pending: reclaimed and retried later
                    log.error("dead-lettering entry %s failed: %s", entries[i].entry_id, reply)
                    results[i] = Result(Outcome.FAILED)
                else:
                    moved = reply == scripts.DeadLetterStatus.MOVED
                    results[i] = Result(Outcome.DEAD_LETTERED if moved else Outcome.ALREADY_APPLIED)
            dead = []
            pending: list[tuple[int, Batch]] = []
            answers = zip(groups, plans, replies[len(replies) - len(groups) :], strict=True)
            for group, plan, reply in answers:
                if resend and isinstance(reply, MOVED_ERRORS):
                    pending += group
                else:
                    pending += self._settle(entries, group, plan, reply, results, duplicates)
            calls = ScriptBatch(self._client)
            groups, plans = self._queue(calls, entries, pending, prepared.now_ms, duplicates)
        return [r if r is not None else Result(Outcome.FAILED) for r in results]

    def _settle(
        self,
        entries: Sequence[Entry],
        group: list[tuple[int, Batch]],
        plan: ApplyPlan,
        reply: object,
        results: list[Result | None],
        duplicates: dict[int, set[int]],
    ) -> list[tuple[int, Batch]]:
        """Record the results of one group's reply; returns what must be planned again (noting
        in `duplicates` the events to leave out then)."""
        _raise_if_connection_error(reply)
        if isinstance(reply, Exception):
            for i, _ in group:
                log.error("apply of entry %s failed, left pending: %s", entries[i].entry_id, reply)
                results[i] = Result(Outcome.FAILED)
            return []
        assert isinstance(reply, list)
        status, rest = scripts.ApplyStatus(int(reply[0])), [int(x) for x in reply[1:]]
        if status == scripts.ApplyStatus.STALE:
            stale = {group[r - 1][0] for r in rest}
            for i in stale:
                results[i] = Result(Outcome.ALREADY_APPLIED)
            return [(i, batch) for i, batch in group if i not in stale]
        if status == scripts.ApplyStatus.DUPLICATES:
            for r in rest:
                position, index = plan.guards[r - 1]
                duplicates.setdefault(group[position][0], set()).add(index)
            return group
        if status == scripts.ApplyStatus.DUPLICATE_BATCH:  # acknowledged, nothing added
            results[group[0][0]] = Result(Outcome.APPLIED, 0)
            return []
        if status == scripts.ApplyStatus.SYSTEM_DELETED:  # acknowledged and dropped
            for i, _ in group:
                results[i] = Result(Outcome.APPLIED, 0)
            return []
        for position, (i, batch) in enumerate(group):
            results[i] = Result(Outcome.APPLIED, len(batch.events) - plan.left_out.get(position, 0))
        return []

    def dead_letter(self, entry: Entry, reason: str, deliveries: int) -> bool:
        """Move one entry to the dead-letter stream; False when it was acknowledged elsewhere."""
        calls = ScriptBatch(self._client)
        self.queue_dead_letter(calls, entry, reason, deliveries)
        (moved,) = calls.execute()
        if isinstance(moved, Exception):
            raise moved
        return bool(moved == scripts.DeadLetterStatus.MOVED)

    def queue_dead_letter(
        self, calls: ScriptBatch, entry: Entry, reason: str, deliveries: int = 1
    ) -> None:
        try:
            events = int(entry.fields.get(keys.BatchEntry.EVENTS, b"0"))
        except ValueError:
            events = 0
        fields: list[bytes | str | int] = [
            keys.DeadLetterEntry.STREAM_ID,
            entry.entry_id,
            keys.DeadLetterEntry.ERROR,
            reason,
            keys.DeadLetterEntry.DELIVERIES,
            deliveries,
        ]
        for name, value in entry.fields.items():
            fields += [keys.DeadLetterEntry.ORIGINAL_PREFIX.encode() + name, value]
        call = scripts.dead_letter(
            entry.partition, entry.entry_id, events, self._settings.dead_letter_maxlen, fields
        )
        self._dead_letter(keys=call.keys, args=call.args, client=calls.pipe_for(call.keys[0]))


# One script call applies at most this many events: enough to aggregate a burst into few counter
# increments, small enough that no call holds the store for more than a few milliseconds (health
# reads wait behind it).
APPLY_MAX_EVENTS = 2_000


def _groups(
    entries: Sequence[Entry], pending: list[tuple[int, Batch]]
) -> list[list[tuple[int, Batch]]]:
    """Split entries into apply calls: one system and partition each, at most APPLY_MAX_EVENTS
    events, and a batch with an Idempotency-Key alone (its guard covers the whole call)."""
    open_groups: dict[tuple[int, int], list[tuple[int, Batch]]] = {}
    sizes: dict[tuple[int, int], int] = {}
    out: list[list[tuple[int, Batch]]] = []
    for i, batch in pending:
        if batch.idempotency_key is not None:
            out.append([(i, batch)])
            continue
        key = (entries[i].partition, batch.system_id)
        group = open_groups.get(key)
        if group is not None and sizes[key] + len(batch.events) > APPLY_MAX_EVENTS:
            group = None
        if group is None:
            group = open_groups[key] = []
            sizes[key] = 0
            out.append(group)
        group.append((i, batch))
        sizes[key] += len(batch.events)
    return out


def _raise_if_connection_error(reply: object) -> None:
    if isinstance(reply, redis.ConnectionError | redis.TimeoutError):
        raise reply
