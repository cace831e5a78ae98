"""Read one system's health: every read the policy needs in one pipeline, then the rules.

Reads are bounded by the policy, never by the number of events: the window (≤ 10 counter
containers), the sub-windows of sustain/recovery (≤ ~13 containers), the six burn-rate windows
(shared containers), the system meta hash, and for `consecutive_failures` a bounded slice of the
newest raw events.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.model.codec import Row
from shared.model.events import ERROR_TEXT_FIELD, UNCOUNTED_TYPES
from shared.model.health import Health, LastError, Rule, StageHealth
from shared.model.policy import EffectivePolicy
from shared.model.rules import BURN_RULES, Inputs, RuleResult, Streak, evaluate
from shared.model.stats import StagedStats, Stats
from shared.model.verdict import Verdict
from shared.services.counters import Counters, level_for
from shared.services.raw_events import END_OF_TIME_MS, newest_first
from shared.settings import Settings
from shared.store import keys, scripts
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions

MAX_SUBWINDOWS = 120
EXCERPT_CHARS = 200
MESSAGE_CHARS = 1000
MAX_KEYS_PER_CALL = 2000  # hashes per read_hashes.lua call: a few ms of the store at most
# The meta fields a health read needs; a verdict needs the first only (last_error is a row).
_META_FIELDS = [keys.Meta.LAST_TS, keys.Meta.LAST_ERROR_TS, keys.Meta.LAST_ERROR]


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class Judgement:
    """A system's verdict and what its silence due time follows from."""

    verdict: Verdict
    reason: str
    last_event_ms: int | None
    # When the verdict may change by time alone, silence aside: the oldest events leave a window
    # the rules read, or the sustain/recovery sub-windows move on (None: nothing to leave).
    changes_ms: int | None
    # The policy's window as the rules saw it (recorded for GET /metrics); 0.0 without events.
    events: int = 0
    error_ratio: float = 0.0
    p95_ms: float = 0.0


class HealthReader:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._partitions = partitions
        self._client = client
        self._settings = settings
        self._read_hashes = client.register_script(scripts.source(scripts.READ_HASHES))

    async def read(
        self, system_id: int, policy: EffectivePolicy, created_at: datetime, now: datetime
    ) -> Health:
        """Health over event `ts` in `[now - window, now]`, to whole seconds at the edges."""
        return (await self.read_many([(system_id, policy, created_at)], now))[0]

    async def read_many(
        self, systems: Sequence[tuple[int, EffectivePolicy, datetime]], now: datetime
    ) -> list[Health]:
        """`read` of each (system id, policy, created at), in order, in one round trip for all
        of them (plus one per system with a `consecutive_failures` rule)."""
        fetched = await self._fetch(systems, now, _META_FIELDS)
        return [r.health(meta, recent) for r, meta, recent in fetched]

    async def judge_many(
        self, systems: Sequence[tuple[int, EffectivePolicy, datetime]], now: datetime
    ) -> list[Judgement]:
        """The verdict of each, as `read_many` has it, without the rest of the answer: the
        evaluator's, for hundreds of systems a pass."""
        judged = await self._fetch(systems, now, _META_FIELDS[:1])
        return [r.judge(meta, recent) for r, meta, recent in judged]

    async def _fetch(
        self,
        systems: Sequence[tuple[int, EffectivePolicy, datetime]],
        now: datetime,
        fields: list[str],
    ) -> list[tuple["_Read", list[Any], list[Row]]]:
        reads = [
            _Read(system_id, await self._partitions.of(system_id), policy, created_at, now)
            for system_id, policy, created_at in systems
        ]
        by_partition: dict[int, list[_Read]] = {}
        for r in reads:
            by_partition.setdefault(r.partition, []).append(r)
        for group in by_partition.values():
            batch: list[_Read] = []
            size = 0
            for r in group:
                batch.append(r)
                size += len(r.counters.fields) + 1
                if size >= MAX_KEYS_PER_CALL:
                    await self._read_batch(batch, fields)
                    batch, size = [], 0
            if batch:
                await self._read_batch(batch, fields)
        out = []
        for r in reads:
            recent: list[Row] = []
            if r.policy.consecutive_failures is not None:
                recent, _ = await newest_first(
                    self._client,
                    keys.raw_events(r.partition, r.system_id),
                    r.start_s * 1000,
                    END_OF_TIME_MS,
                    0,
                    min(r.policy.consecutive_failures * 50, 5000),
                )
            out.append((r, r.meta, recent))
        return out

    async def _read_batch(self, batch: list["_Read"], fields: list[str]) -> None:
        """Every hash the reads need (of one partition), in one command; a single system's in
        one pipeline instead, as fast for a few hashes and ~5 % faster for the biggest reads
        (tens of thousands of fields, which the script would copy into a Lua table first)."""
        if len(batch) == 1:
            (r,) = batch
            pipe = self._client.pipeline(transaction=False)
            for key in r.hashes():
                pipe.hgetall(key)
            pipe.hmget(keys.system_meta(r.partition, r.system_id), fields)
            *containers, meta = await pipe.execute()
            r.counters.store(r.order, containers)
            r.meta = [value or None for value in meta]
            return
        whole = [key for r in batch for key in r.hashes()]
        partly = [keys.system_meta(r.partition, r.system_id) for r in batch]
        call = scripts.read_hashes(whole, partly, fields)
        reply = await self._read_hashes(keys=call.keys, args=call.args)
        hashes = iter(reply[: len(whole)])
        for r, meta in zip(batch, reply[len(whole) :], strict=True):
            r.store([next(hashes) for _ in r.order], meta)


_BURN_WINDOWS = sorted({w for rule in BURN_RULES for w in rule[:2]})


class _Read:
    """One system's read: what the policy needs (queued on a pipeline), then the rules over the
    replies. Every read is bounded by the policy, whatever the number of events."""

    def __init__(
        self,
        system_id: int,
        partition: int,
        policy: EffectivePolicy,
        created_at: datetime,
        now: datetime,
    ) -> None:
        self.system_id, self.partition, self.policy = system_id, partition, policy
        self.created_at, self.now = created_at, now
        self.now_s = now.timestamp()
        self.end_s = math.floor(self.now_s)
        self.start_s = self.end_s - policy.window_seconds
        self.counters = Counters(partition, system_id)
        self.counters.need_window(self.start_s, self.end_s)
        self.span_s = policy.sustain_seconds + policy.recovery_seconds
        self.sub_level = level_for(self.span_s, MAX_SUBWINDOWS)
        if self.span_s:
            self.counters.need_series(self.sub_level, self.end_s - self.span_s, self.end_s)
        if policy.burn_rate is not None:
            for w in _BURN_WINDOWS:
                self.counters.need_window(self.end_s - w, self.end_s)
        self.order: list[tuple[int, int]] = []
        self.meta: list[Any] = []

    def hashes(self) -> list[str]:
        """The counter containers to read whole (`store` takes them in this order)."""
        self.order = list(self.counters.fields)
        c = self.counters
        return [keys.counters(c.partition, c.system_id, size, start) for size, start in self.order]

    def store(self, containers: list[list[bytes]], meta: list[Any]) -> None:
        """The replies of read_hashes.lua: each container flat (field, value, ...), and the
        meta fields asked for (False or None when absent)."""
        self.counters.store(self.order, [dict(zip(f[::2], f[1::2], strict=True))
                                         for f in containers])  # fmt: skip
        self.meta = [value or None for value in meta]

    def _rules(
        self, meta: list[Any], recent: list[Row]
    ) -> tuple[Verdict, str, list[RuleResult], StagedStats, list[Any]]:
        """The rules over what was stored (and the newest raw events, when the policy counts
        consecutive failures): verdict, reason, rules, the window and the meta fields."""
        policy, start_s, end_s, span_s = self.policy, self.start_s, self.end_s, self.span_s
        counters = self.counters
        last_ts = meta[0]
        window = counters.window(start_s, end_s)
        inputs = Inputs(
            policy=policy,
            now_s=self.now_s,
            window=window,
            last_ts_s=None if last_ts is None else int(last_ts) / 1000,
            created_at_s=self.created_at.timestamp(),
            sub_s=self.sub_level.slot_s,
            subwindows=counters.series(self.sub_level, end_s - span_s, end_s) if span_s else [],
            streaks=_streaks(recent),
            burn={w: counters.window(end_s - w, end_s).all for w in _BURN_WINDOWS}
            if policy.burn_rate is not None
            else {},
        )
        verdict, reason, rules = evaluate(inputs)
        return verdict, reason, rules, window, meta

    def judge(self, meta: list[Any], recent: list[Row]) -> Judgement:
        verdict, reason, _, window, meta = self._rules(meta, recent)
        last_ms = None if meta[0] is None else int(meta[0])
        total = window.all.total
        (p95,) = window.all.quantiles(0.95) if total else (0.0,)
        return Judgement(verdict, reason, last_ms, self._changes_ms(last_ms), total,
                         window.all.error_rate, p95)  # fmt: skip

    def _changes_ms(self, last_ms: int | None) -> int | None:
        """The first time after now at which the rules may see different events although no
        new one came (see Judgement.changes_ms)."""
        end_s, counters = self.end_s, self.counters
        windows = [self.policy.window_seconds]
        if self.policy.burn_rate is not None:
            windows += _BURN_WINDOWS
        due_s: list[int] = []
        for window_s in windows:
            first = counters.first_second(end_s - window_s, end_s)
            if first is not None:
                due_s.append(first + window_s + 1)  # the second it is out of the window
        sub_s = self.sub_level.slot_s
        if self.span_s and last_ms is not None and last_ms // 1000 >= end_s - self.span_s - sub_s:
            due_s.append((end_s // sub_s + 1) * sub_s)  # the sub-windows' next step
        return min(due_s) * 1000 if due_s else None

    def health(self, meta: list[Any], recent: list[Row]) -> Health:
        verdict, reason, rules, window, meta = self._rules(meta, recent)
        policy, start_s = self.policy, self.start_s
        last_ts, last_error_ts, last_error = meta
        total, errors = window.all.total, window.all.errors
        p50, p95, p99 = window.all.quantiles(0.5, 0.95, 0.99)
        return Health(
            system_id=self.system_id,
            window_seconds=policy.window_seconds,
            window_start=datetime.fromtimestamp(start_s, UTC),
            window_end=self.now,
            health=verdict,
            reason=reason,
            total=total,
            errors=errors,
            error_rate=window.all.error_rate,
            rps=total / policy.window_seconds,
            p50_latency=p50,
            p95_latency=p95,
            p99_latency=p99,
            last_event_at=None if last_ts is None else _from_ms(int(last_ts)),
            last_error_at=None if last_error_ts is None else _from_ms(int(last_error_ts)),
            last_error=_last_error(last_error_ts, last_error),
            policy=policy,
            rules=[
                Rule(
                    name=r.name,
                    observed=r.observed,
                    threshold=r.threshold,
                    fired=r.fired,
                    sets=r.verdict,
                    reason=r.reason,
                )
                for r in rules
            ],
            stages={name: _stage(s) for name, s in sorted(window.stages.items())},
        )


def _stage(s: Stats) -> StageHealth:
    p50, p95, p99 = s.quantiles(0.5, 0.95, 0.99)
    return StageHealth(
        total=s.total,
        errors=s.errors,
        error_rate=s.error_rate,
        p50_latency=p50,
        p95_latency=p95,
        p99_latency=p99,
    )


def _streaks(rows: list[Row]) -> list[Streak]:
    """Leading `error` events (newest first) per stage and per run of the newest raw events, and
    for the events with neither (a cron job's pings) of the system itself (group "")."""
    broken: set[str] = set()
    counts: dict[str, int] = {}
    for row in rows:
        if row.event_type in UNCOUNTED_TYPES:  # run markers and notes are not results
            continue
        is_error, stage, run_id = bool(row.error), row.stage, row.run_id
        groups = (f"stage {stage}" if stage else None, f"run {run_id}" if run_id else None)
        if stage is None and run_id is None:
            groups = ("", None)
        for group in groups:
            if group is None or group in broken:
                continue
            if is_error:
                counts[group] = counts.get(group, 0) + 1
            else:
                broken.add(group)
    return [Streak(group, n) for group, n in counts.items()]


def _last_error(at_ms: bytes | None, member: bytes | None) -> LastError | None:
    if at_ms is None or not member:
        return None
    row = Row._make(orjson.loads(member))
    payload = row.payload
    excerpt = None if payload is None else orjson.dumps(payload).decode()[:EXCERPT_CHARS]
    text = None if payload is None else payload.get(ERROR_TEXT_FIELD)
    return LastError(
        at=_from_ms(int(at_ms)),
        event_type=row.event_type,
        stage=row.stage,
        run_id=row.run_id,
        payload_excerpt=excerpt,
        message=text[:MESSAGE_CHARS] if isinstance(text, str) else None,
    )
