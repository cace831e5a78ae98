"""The worker loop: `while not stopping: run_once()`.

`run_once` reclaims entries of dead consumers when due, otherwise reads new ones, applies them
(apply and XACK are one atomic step), and does the periodic upkeep: heartbeat, trimming of
acknowledged entries, forgetting long-idle consumers. A Redis outage never ends the loop: it backs
off (capped, jittered) and, once reconnected, first re-reads its own pending entries.

One read is in flight while the next is read and planned: a thread sends the script calls and
waits for the store (the wait releases the GIL), so the worker's CPU time and the store's overlap
instead of adding up. Applies of one system may then reach the store in either order, which
changes nothing: counts add, first/last times only move outwards, and each call re-checks its
entries and event ids atomically.
"""

import contextlib
import gc
import logging
import os
import socket
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import redis

from shared.backoff import Backoff
from shared.settings import Settings
from shared.store import keys, layout
from shared.store.client import SyncRedis
from worker import streams
from worker.applier import Applier, Entry, Outcome, RedisApplier, Result

log = logging.getLogger("lso.worker")

TRANSIENT_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)
IDLE_CONSUMER_MS = 3_600_000


def quiet_collector() -> None:
    """Tune the cyclic garbage collector for a worker process, once it has started.

    The worker allocates a few tuples per event and forms almost no reference cycles: the
    collector's default (a pass every 700 allocations, over everything imported too) cost ~20 %
    of its CPU (bench.drain). What start-up made is frozen out of the passes; they come far less
    often.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def consumer_name() -> str:
    """Unique per process and host, and never reused by a restarted process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class DrainStats:
    events: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    reconnects: int = 0


class Worker:
    def __init__(
        self,
        client: SyncRedis,
        settings: Settings,
        *,
        name: str | None = None,
        applier: Applier | None = None,
        burst: bool = False,
    ) -> None:
        self.client = client
        self.settings = settings
        self.name = name or consumer_name()
        self.applier: Applier = applier or RedisApplier(client, settings)
        self.burst = burst
        self.stopping = False
        self.stats = DrainStats()
        self._backoff = Backoff(cap_s=30.0)
        self._read_own = True
        self._streams = 0  # ingest streams read, from the partition layout (shared/store/layout.py)
        self._history: list[str] = []
        self._groups_ready = False
        self._reads = 0
        self._claim_every_s = max(self.settings.claim_idle_ms / 2000, 0.05)
        self._next_claim = 0.0 if burst else time.monotonic() + self._claim_every_s
        self._claim_cursors: list[str] = []
        self._next_trim = 0.0
        self._next_heartbeat = 0.0
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="lso-apply")
        self._in_flight: Future[list[Result]] | None = None

    def stop(self) -> None:
        """Finish the entries in hand, then leave the loop (safe to call from a signal handler)."""
        self.stopping = True

    def run(self) -> DrainStats:
        log.info("worker %s starting", self.name)
        while not self.stopping:
            self.run_once()
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self._settle()  # left pending if it fails: another consumer reclaims it
        self._sender.shutdown()
        self._leave()
        log.info(
            "worker %s stopped: events=%d applied=%d duplicates=%d dead_lettered=%d failed=%d "
            "reconnects=%d",
            self.name,
            self.stats.events,
            self.stats.outcomes[Outcome.APPLIED],
            self.stats.outcomes[Outcome.ALREADY_APPLIED],
            self.stats.outcomes[Outcome.DEAD_LETTERED],
            self.stats.outcomes[Outcome.FAILED],
            self.stats.reconnects,
        )
        return self.stats

    def run_once(self) -> None:
        try:
            if not self._groups_ready:
                self._adopt_layout(recreate_groups=True)
                self._groups_ready = True
            handled = self._claim_if_due() or self._read_and_apply()
            self._upkeep()
            self._backoff.reset()
            if self.burst and not handled:
                self.stopping = True
        except TRANSIENT_ERRORS as exc:
            self._pause_after(exc)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("consumer group missing (stream deleted?); recreating it")
            self._groups_ready = False

    def _pause_after(self, exc: Exception) -> None:
        # The call in flight ends before its entries may be read again as our own pending ones.
        with contextlib.suppress(*TRANSIENT_ERRORS):
            self._settle()
        delay_s = self._backoff.next_delay_s()
        self.stats.reconnects += 1
        self._read_own = True
        self._history = ["0"] * self._streams
        log.warning("store unavailable (%s); retrying in %.2f s", exc, delay_s)
        deadline = time.monotonic() + delay_s
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, delay_s))

    def _read_and_apply(self) -> bool:
        s = self.settings
        if self._read_own:
            # Walk our own pending entries once, advancing a cursor: an entry that fails stays
            # pending and is retried later through XAUTOCLAIM, which counts its deliveries, rather
            # than being re-read here in a hot loop.
            entries = streams.read(
                self.client, self.name, self._streams, s.worker_read_count, None, self._history
            )
            if not entries:
                self._settle()
                self._read_own = False
                return True  # not idle yet: new entries come next
            for entry in entries:
                self._history[entry.partition] = entry.entry_id
        else:
            self._reads += 1
            entries = streams.read(
                self.client,
                self.name,
                self._streams,
                s.worker_read_count,
                s.worker_block_ms,
                turn=self._reads,
            )
        if not entries:
            self._settle()  # idle: what was read is applied before the loop says so
            return False
        self._apply(entries)
        return True

    def _claim_if_due(self) -> bool:
        if time.monotonic() < self._next_claim:
            return False
        claimed: list[Entry] = []
        for p in range(self._streams):
            cursor, entries = streams.claim(
                self.client,
                self.name,
                p,
                self.settings.claim_idle_ms,
                self._claim_cursors[p],
                self.settings.worker_read_count,
            )
            self._claim_cursors[p] = cursor
            claimed += entries
        if all(c == "0-0" for c in self._claim_cursors):
            self._next_claim = time.monotonic() + self._claim_every_s
        if not claimed:
            return False
        log.info("reclaimed %d idle entries", len(claimed))
        counts = streams.delivery_counts(self.client, self.name, claimed)
        fresh = []
        for entry in claimed:
            deliveries = counts.get(entry.entry_id, 1)
            if deliveries > self.settings.max_deliveries:
                reason = f"delivered {deliveries} times without being applied"
                log.error("dead-lettering entry %s: %s", entry.entry_id, reason)
                if self.applier.dead_letter(entry, reason, deliveries):
                    self.stats.outcomes[Outcome.DEAD_LETTERED] += 1
            else:
                fresh.append(entry)
        self._apply(fresh)
        return True

    def _apply(self, entries: list[Entry]) -> None:
        """Plan `entries` (while the previous call is in flight), then send them."""
        if not entries:
            return
        prepared = self.applier.prepare(entries)
        self._settle()
        self._in_flight = self._sender.submit(self.applier.execute, prepared)

    def _settle(self) -> None:
        """Wait for the call in flight and count its results (raising its error, if any)."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is None:
            return
        for result in in_flight.result():
            self.stats.outcomes[result.outcome] += 1
            self.stats.events += result.events

    def _upkeep(self) -> None:
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._heartbeat()
            self._adopt_layout()
            self._next_heartbeat = now + self.settings.heartbeat_ttl_s / 3
        if now >= self._next_trim:
            for p in range(self._streams):
                streams.trim_acknowledged(self.client, p)
                streams.forget_idle_consumers(self.client, p, IDLE_CONSUMER_MS)
            self._next_trim = now + self.settings.trim_interval_s

    def _adopt_layout(self, recreate_groups: bool = False) -> None:
        """Read every ingest stream of the partition layout, including ones added since the
        last look (`lso partitions`); their groups start at id 0, so nothing is skipped."""
        current = layout.load_sync(self.client, self.settings.partitions)
        count = current.streams
        if not self._streams and current.partitions != self.settings.partitions:
            log.warning(
                "LSO_PARTITIONS=%d is ignored: this deployment gives new systems %d partition(s) "
                "(change it with `lso partitions N`)",
                self.settings.partitions,
                current.partitions,
            )
        if count == self._streams and not recreate_groups:
            return
        streams.ensure_groups(self.client, count)
        if self._streams:
            log.info("partition layout changed: reading %d streams (was %d)", count, self._streams)
        grown = max(count - self._streams, 0)
        self._history = self._history[:count] + ["0"] * grown
        self._claim_cursors = self._claim_cursors[:count] + ["0-0"] * grown
        self._streams = count

    def _heartbeat(self) -> None:
        now_ms = int(time.time() * 1000)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(keys.WORKERS, {self.name: now_ms})
        pipe.zremrangebyscore(
            keys.WORKERS, "-inf", now_ms - 10 * self.settings.heartbeat_ttl_s * 1000
        )
        pipe.execute()

    def _leave(self) -> None:
        # Best effort: a store that is gone now is no reason to fail a clean stop.
        with contextlib.suppress(redis.RedisError):
            self.client.zrem(keys.WORKERS, self.name)
            for p in range(self._streams):
                streams.trim_acknowledged(self.client, p)


def is_alive(client: SyncRedis, settings: Settings, host: str | None = None) -> bool:
    """True when a worker on `host` (default: this host) sent a heartbeat within the TTL."""
    prefix = f"{host or socket.gethostname()}:"
    since_ms = int(time.time() * 1000) - settings.heartbeat_ttl_s * 1000
    names: list[bytes] = client.zrangebyscore(keys.WORKERS, since_ms, "+inf")  # type: ignore[assignment]
    return any(name.decode().startswith(prefix) for name in names)
