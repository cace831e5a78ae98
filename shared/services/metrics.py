"""The figures of GET /metrics, all read from the store, so that any API process answers for the
whole deployment (several processes, several hosts) and a scrape of one is never mistaken for
the whole.

- Per partition: appended and drained events (`lso:{pN}:stats`), so the backlog and the drain
  rate; how long the oldest entry not yet applied has waited (its id is its time on the
  store's clock); dead letters held and ever written; systems waiting for evaluation, and how
  late the earliest overdue due time is; deliveries not yet final.
- What exists only per process (requests, their latencies, refused batches) is summed in the
  store by each process's tally (shared/services/tally.py); deliveries by outcome by the jobs.
- Per system, from what the evaluator recorded (shared/services/verdicts.py: the verdict, the
  window's error ratio and p95, the newest event it saw): one HGETALL a partition, never a
  health read per system. The newest event is read from the meta hash (read_hashes.lua, 2 000
  a call) only for the systems with events applied since their evaluation (the `dirty` sets)
  or without a recorded one, so it is exact without a read per system per scrape.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.model.systems import System
from shared.model.verdict import Verdict
from shared.services.registry import Registry
from shared.services.tally import LATENCY_BOUNDS_S
from shared.services.verdicts import Recorded, Verdicts
from shared.settings import Settings
from shared.store import keys, scripts
from shared.store.client import AsyncRedis, text
from shared.store.partitions import Partitions

META_PER_CALL = 2000  # meta hashes per read_hashes.lua call: a few ms of the store at most


@dataclass(frozen=True, slots=True)
class PartitionFigures:
    partition: int
    events_in: int  # appended to the stream, ever
    events_out: int  # applied or dead-lettered, ever
    apply_delay_s: float  # how long the oldest entry not yet applied has waited (0: none)
    dead_letters_held: int
    dead_letters_written: int  # ever (the dead-letter stream's entries-added)
    dirty_systems: int  # with events applied since their last evaluation
    overdue_s: float  # how late the earliest due evaluation is (0: none overdue)
    undelivered: int  # deliveries not yet delivered or failed

    @property
    def backlog_events(self) -> int:
        return max(self.events_in - self.events_out, 0)


@dataclass(frozen=True)
class ServiceFigures:
    partitions: list[PartitionFigures]
    workers_alive: int  # stream workers with a heartbeat within LSO_HEARTBEAT_TTL_S
    # (method, route, status) -> requests answered
    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    # (method, route) -> (count per bucket of LATENCY_BOUNDS_S then +Inf, not cumulative; sum s)
    latency: dict[tuple[str, str], tuple[list[int], float]] = field(default_factory=dict)
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)  # (reason, unit) -> n
    deliveries: dict[str, int] = field(default_factory=dict)  # status -> deliveries
    groups_open: int = 0  # channels' groups gathering transitions (worker/jobs/groups.py)
    groups_pending: int = 0  # grouped deliveries neither delivered nor failed yet
    systems: dict[Verdict, int] = field(default_factory=dict)  # registered systems by verdict
    last_verdict_age_s: float | None = None  # since the evaluator last recorded any verdict


@dataclass(frozen=True, slots=True)
class SystemFigures:
    system_id: int
    name: str
    verdict: Verdict  # NO_DATA while not evaluated yet
    error_ratio: float | None  # over the policy's window at the last evaluation; None: no events
    p95_s: float | None
    last_event_age_s: float | None  # None: no event yet


@dataclass(frozen=True)
class Figures:
    service: ServiceFigures | None  # None: not asked for
    systems: list[SystemFigures] | None  # by id; None: not asked for


class Metrics:
    def __init__(
        self,
        client: AsyncRedis,
        settings: Settings,
        registry: Registry,
        verdicts: Verdicts,
        partitions: Partitions,
    ) -> None:
        self._client = client
        self._heartbeat_ttl_ms = settings.heartbeat_ttl_s * 1000
        self._registry = registry
        self._verdicts = verdicts
        self._partitions = partitions
        self._read_hashes = client.register_script(scripts.source(scripts.READ_HASHES))

    async def read(
        self,
        now: datetime,
        *,
        service: bool,
        per_system: bool,
        sees: Callable[[int], bool] | None = None,
    ) -> Figures:
        """The deployment's figures when `service` (the per-process ones as last flushed, within
        a second), and when `per_system` those of every registered system `sees` admits (None:
        all). The registry and the recorded verdicts are read once for both, and the reads of
        each run at once."""
        _, listed = await self._registry.listing()
        chosen = [s for s in listed if sees is None or sees(s.system_id)] if per_system else []
        changed = await self._dirty() if chosen else set()
        recorded = await self._verdicts.all()
        stale = [
            s
            for s in chosen
            if s.system_id in changed
            or (kept := recorded.get(s.system_id)) is None
            or kept.last_event_ms is None
        ]
        figures, read_ms = await asyncio.gather(
            self._service(now, listed, recorded) if service else _none(),
            self._last_events(stale),
        )
        now_ms = _ms(now)
        reread = {s.system_id for s in stale}
        systems = []
        for s in chosen:
            kept = recorded.get(s.system_id)
            if s.system_id in reread or kept is None:
                last_ms = read_ms.get(s.system_id)
            else:
                last_ms = kept.last_event_ms
            systems.append(_system_figures(s, kept, last_ms, now_ms))
        return Figures(figures, systems if per_system else None)

    async def _dirty(self) -> set[int]:
        """The systems with events applied since their last evaluation (whose recorded newest
        event may be behind)."""
        pipe = self._client.pipeline(transaction=False)
        for p in range((await self._partitions.layout()).streams):
            pipe.zrange(keys.dirty(p), 0, -1)
        return {int(member) for members in await pipe.execute() for member in members}

    async def _service(
        self, now: datetime, systems: Sequence[System], recorded: dict[int, Recorded]
    ) -> ServiceFigures:
        streams = (await self._partitions.layout()).streams
        now_ms = _ms(now)
        partitions = await self._partition_figures(streams, now_ms)
        pipe = self._client.pipeline(transaction=False)
        for key in (keys.METRICS_REQUESTS, keys.METRICS_LATENCY, keys.METRICS_REJECTED,
                    keys.METRICS_DELIVERIES):  # fmt: skip
            pipe.hgetall(key)
        # Workers beat with their own wall clock (worker/consumer.py), so the same clock here.
        pipe.zcount(keys.WORKERS, int(time.time() * 1000) - self._heartbeat_ttl_ms, "+inf")
        pipe.zcard(keys.GROUPS_DUE)
        pipe.zcard(keys.GROUPS_UNDELIVERED)
        requests, latency, rejected, deliveries, workers, opened, pending = await pipe.execute()
        by_verdict = dict.fromkeys(Verdict, 0)
        newest_ms = None
        for system in systems:
            kept = recorded.get(system.system_id)
            by_verdict[Verdict.NO_DATA if kept is None else kept.verdict] += 1
            if kept is not None and (newest_ms is None or kept.evaluated_ms > newest_ms):
                newest_ms = kept.evaluated_ms
        return ServiceFigures(
            partitions=partitions,
            workers_alive=int(workers),
            requests=_requests(requests),
            latency=_latency(latency),
            rejected={_pair(f): int(n) for f, n in rejected.items()},
            deliveries={text(status): int(n) for status, n in deliveries.items()},
            groups_open=int(opened),
            groups_pending=int(pending),
            systems=by_verdict,
            last_verdict_age_s=None if newest_ms is None else max(now_ms - newest_ms, 0) / 1000,
        )

    async def _last_events(self, systems: Sequence[System]) -> dict[int, int]:
        """Each system's newest event ts (ms), for those that have one: one read_hashes.lua
        call per META_PER_CALL systems of a partition, all at once."""
        by_partition: dict[int, list[int]] = {}
        for s in systems:
            by_partition.setdefault(await self._partitions.of(s.system_id), []).append(s.system_id)
        chunks = [
            (p, ids[first : first + META_PER_CALL])
            for p, ids in by_partition.items()
            for first in range(0, len(ids), META_PER_CALL)
        ]
        replies = await asyncio.gather(*(self._last_of(p, chunk) for p, chunk in chunks))
        found: dict[int, int] = {}
        for (_, chunk), reply in zip(chunks, replies, strict=True):
            for sid, (last_ts,) in zip(chunk, reply, strict=True):
                if last_ts:
                    found[sid] = int(last_ts)
        return found

    async def _last_of(self, partition: int, system_ids: list[int]) -> Any:
        metas = [keys.system_meta(partition, sid) for sid in system_ids]
        call = scripts.read_hashes([], metas, [keys.Meta.LAST_TS])
        return await self._read_hashes(keys=call.keys, args=call.args)

    async def _partition_figures(self, streams: int, now_ms: int) -> list[PartitionFigures]:
        """Every partition's figures, in two pipelined round trips."""
        # Entry ids are ms of the store's clock: the age of one by the store's TIME (on a
        # cluster, one node's; their hosts' clocks agree far closer than the seconds that matter).
        seconds, micros = await self._client.time()
        store_ms = int(seconds) * 1000 + int(micros) // 1000
        pipe = self._client.pipeline(transaction=False)
        for p in range(streams):
            pipe.hmget(keys.partition_stats(p),
                       [keys.PartitionStats.EVENTS_IN, keys.PartitionStats.EVENTS_OUT])  # fmt: skip
            pipe.xlen(keys.dead_letters(p))
            pipe.zcard(keys.dirty(p))
            pipe.zrangebyscore(keys.due(p), "-inf", now_ms, start=0, num=1, withscores=True)
            pipe.zcard(keys.undelivered(p))
            pipe.xinfo_groups(keys.stream(p))  # fails while the stream does not exist
            pipe.xpending(keys.stream(p), keys.GROUP)  # fails without the group
        first = await pipe.execute(raise_on_error=False)
        per = [first[7 * p : 7 * p + 7] for p in range(streams)]
        # The oldest entry not delivered to the workers (after the group's last-delivered id),
        # and how many dead letters were ever written (entries-added counts the replayed too).
        pipe = self._client.pipeline(transaction=False)
        for p, (_, _, _, _, _, groups, _) in enumerate(per):
            pipe.xrange(keys.stream(p), _after(groups), "+", count=1)
            pipe.xinfo_stream(keys.dead_letters(p))  # fails while there is none
        second = await pipe.execute(raise_on_error=False)
        out = []
        for p, (stats, held, dirty, due, undelivered, _, pending) in enumerate(per):
            undelivered_first, dead = second[2 * p : 2 * p + 2]
            oldest = [_entry_ms(e[0]) for e in _ok(undelivered_first, [])[:1]]
            summary = _ok(pending, {})
            if summary.get("pending") and summary.get("min"):
                oldest.append(_entry_ms(summary["min"]))
            events_in, events_out = stats
            out.append(
                PartitionFigures(
                    partition=p,
                    events_in=int(events_in or 0),
                    events_out=int(events_out or 0),
                    apply_delay_s=max(store_ms - min(oldest), 0) / 1000 if oldest else 0.0,
                    dead_letters_held=int(held),
                    dead_letters_written=int(_ok(dead, {}).get("entries-added", 0)),
                    dirty_systems=int(dirty),
                    overdue_s=max(now_ms - int(due[0][1]), 0) / 1000 if due else 0.0,
                    undelivered=int(undelivered),
                )
            )
        return out


async def _none() -> None:
    return None


def _system_figures(
    system: System, kept: Recorded | None, last_ms: int | None, now_ms: int
) -> SystemFigures:
    return SystemFigures(
        system_id=system.system_id,
        name=system.name,
        verdict=Verdict.NO_DATA if kept is None else kept.verdict,
        error_ratio=None if kept is None else kept.error_ratio,
        p95_s=None if kept is None or kept.p95_ms is None else kept.p95_ms / 1000,
        last_event_age_s=None if last_ms is None else max(now_ms - last_ms, 0) / 1000,
    )


def _ok(reply: Any, default: Any) -> Any:
    """A pipelined reply, or `default` for one that failed (a stream or group not made yet)."""
    return default if reply is None or isinstance(reply, Exception) else reply


def _after(groups: Any) -> str:
    """The XRANGE start just after the group's last-delivered id (the stream's start without
    the group)."""
    for group in _ok(groups, []):
        if text(group["name"]) == keys.GROUP:
            return "(" + text(group["last-delivered-id"])
    return "-"


def _entry_ms(entry_id: bytes | str) -> int:
    return int(text(entry_id).partition("-")[0])


def _pair(raw: bytes | str) -> tuple[str, str]:
    first, _, second = text(raw).partition(" ")
    return first, second


def _requests(fields: dict[Any, Any]) -> dict[tuple[str, str, int], int]:
    out = {}
    for raw, n in fields.items():
        method, route, status = text(raw).split(" ")
        out[(method, route, int(status))] = int(n)
    return out


def _latency(fields: dict[Any, Any]) -> dict[tuple[str, str], tuple[list[int], float]]:
    buckets: dict[tuple[str, str], list[int]] = {}
    sums: dict[tuple[str, str], float] = {}
    for raw, n in fields.items():
        method, route, bucket = text(raw).split(" ")
        if bucket == "sum_us":
            sums[(method, route)] = int(n) / 1_000_000
        elif int(bucket) <= len(LATENCY_BOUNDS_S):  # a bucket of other bounds: left out
            counts = buckets.setdefault((method, route), [0] * (len(LATENCY_BOUNDS_S) + 1))
            counts[int(bucket)] += int(n)
    return {k: (counts, sums.get(k, 0.0)) for k, counts in buckets.items()}


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
