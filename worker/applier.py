"""The processing contract: apply a set of stream entries, each exactly once, then acknowledge it.

The acknowledgement is part of the same atomic script as the side effects (shared/lua/apply.lua),
so there is no window in which an entry is applied but still pending, or acknowledged but not
applied. Undecodable entries go to the dead-letter stream, also atomically with their XACK.
"""

import enum
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis

from shared import keys, scripts
from shared.codec import UndecodableEntry, decode_batch
from shared.settings import Settings
from worker.plan import plan_apply

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


class Applier(Protocol):
    def apply(self, entries: Sequence[Entry]) -> list[Result]:
        """Apply each entry's effect and acknowledge it, atomically per entry.

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
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._apply = client.register_script(scripts.source(scripts.APPLY))
        self._dead_letter = client.register_script(scripts.source(scripts.DEAD_LETTER))

    def apply(self, entries: Sequence[Entry]) -> list[Result]:
        now_ms = int(time.time() * 1000)
        pipe = self._client.pipeline(transaction=False)
        kinds: list[bool] = []  # True: apply script, False: dead-letter script
        for entry in entries:
            try:
                batch = decode_batch(entry.fields)
            except UndecodableEntry as exc:
                log.warning("dead-lettering undecodable entry %s: %s", entry.entry_id, exc)
                self.queue_dead_letter(pipe, entry, f"undecodable: {exc}")
                kinds.append(False)
                continue
            plan = plan_apply(batch, entry.partition, entry.entry_id, self._settings, now_ms)
            self._apply(keys=plan.keys, args=plan.args, client=pipe)
            kinds.append(True)
        replies = pipe.execute(raise_on_error=False)
        results = []
        for entry, is_apply, reply in zip(entries, kinds, replies, strict=True):
            if isinstance(reply, redis.ConnectionError | redis.TimeoutError):
                raise reply
            if isinstance(reply, Exception):
                log.error("apply of entry %s failed, left pending: %s", entry.entry_id, reply)
                results.append(Result(Outcome.FAILED))
            elif not is_apply:
                results.append(Result(Outcome.DEAD_LETTERED if reply else Outcome.ALREADY_APPLIED))
            elif reply[0]:
                results.append(Result(Outcome.APPLIED, int(reply[1])))
            else:
                results.append(Result(Outcome.ALREADY_APPLIED))
        return results

    def dead_letter(self, entry: Entry, reason: str, deliveries: int) -> bool:
        """Move one entry to the dead-letter stream; False when it was acknowledged elsewhere."""
        pipe = self._client.pipeline(transaction=False)
        self.queue_dead_letter(pipe, entry, reason, deliveries)
        (moved,) = pipe.execute()
        return bool(moved)

    def queue_dead_letter(
        self, pipe: redis.client.Pipeline, entry: Entry, reason: str, deliveries: int = 1
    ) -> None:
        try:
            events = int(entry.fields.get(b"n", b"0"))
        except ValueError:
            events = 0
        fields: list[bytes | str | int] = [
            "stream_id",
            entry.entry_id,
            "error",
            reason,
            "deliveries",
            deliveries,
        ]
        for name, value in entry.fields.items():
            fields += [b"f:" + name, value]
        self._dead_letter(
            keys=[
                keys.stream(entry.partition),
                keys.dead_letters(entry.partition),
                keys.partition_stats(entry.partition),
            ],
            args=[keys.GROUP, entry.entry_id, events, self._settings.dead_letter_maxlen, *fields],
            client=pipe,
        )
