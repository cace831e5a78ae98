"""Turn one decoded batch into the KEYS and ARGV of `shared/lua/apply.lua` (pure; no I/O).

Events without an `event_id` are aggregated here, in Python, into one unconditional contribution
(one increment per counter field instead of one per event). Each event with an `event_id` becomes
its own contribution guarded by a dedupe marker, which the script checks and sets atomically.
"""

from collections import Counter
from dataclasses import dataclass, field

import orjson

from shared import keys
from shared.buckets import ERRORS_FIELD, LEVELS, Level, container_start, counter_field, slot_index
from shared.codec import Batch, CompactEvent
from shared.settings import Settings
from shared.sketch import bucket_of

Arg = str | int | bytes


@dataclass
class _Contribution:
    guard: int = 0
    newest_ms: int = 0
    newest_error_ms: int = 0
    newest_error: str = ""  # the raw member of the newest error
    members: list[str] = field(default_factory=list)  # score, member, ...
    counts: Counter[tuple[int, str, str]] = field(default_factory=Counter)  # second, bucket, stage
    errors: Counter[tuple[int, str]] = field(default_factory=Counter)  # second, stage
    runs: dict[str, "_Run"] = field(default_factory=dict)

    def add(self, ref: str, event: CompactEvent) -> None:
        self.newest_ms = max(self.newest_ms, event.ts_ms)
        member = raw_member(ref, event).decode()
        if event.is_error and event.ts_ms >= self.newest_error_ms:
            self.newest_error_ms, self.newest_error = event.ts_ms, member
        self.members += [str(event.ts_ms), member]
        second, stage = event.ts_ms // 1000, event.stage or ""
        self.counts[(second, bucket_of(event.latency_ms), stage)] += 1
        if event.is_error:
            self.errors[(second, stage)] += 1
        if event.run_id is not None:
            self.runs.setdefault(event.run_id, _Run()).add(event)


@dataclass
class _Run:
    """What one contribution adds to one run's summary."""

    events: int = 0
    errors: int = 0
    first_ms: int = 2**63
    last_ms: int = -(2**63)
    last_is_error: bool = False
    last_type: str = ""
    stages: Counter[str] = field(default_factory=Counter)

    def add(self, event: CompactEvent) -> None:
        self.events += 1
        self.errors += event.is_error
        self.first_ms = min(self.first_ms, event.ts_ms)
        if event.ts_ms >= self.last_ms:
            self.last_ms, self.last_is_error = event.ts_ms, event.is_error
            self.last_type = event.event_type
        if event.stage:
            self.stages[event.stage] += 1


def raw_member(ref: str, event: CompactEvent) -> bytes:
    """The sorted-set member of one raw event (its score is `ts_ms`); `ref` makes it unique."""
    return orjson.dumps(
        [
            ref,
            int(event.is_error),
            event.latency_ms,
            event.event_type,
            event.stage,
            event.run_id,
            event.event_id,
            event.payload,
        ]
    )


@dataclass(frozen=True)
class ApplyPlan:
    keys: list[str]
    args: list[Arg]


def plan_apply(
    batch: Batch, partition: int, entry_id: str, settings: Settings, now_ms: int
) -> ApplyPlan:
    sid = batch.system_id
    key_list = [
        keys.stream(partition),
        keys.raw_events(partition, sid),
        keys.system_meta(partition, sid),
        keys.partition_stats(partition),
    ]
    positions: dict[str, int] = {}

    def position(key: str) -> int:
        """1-based KEYS index of `key`, appending it on first use."""
        if key not in positions:
            key_list.append(key)
            positions[key] = len(key_list)
        return positions[key]

    plain = _Contribution()
    guarded: list[_Contribution] = []
    for index, event in enumerate(batch.events):
        ref = f"{entry_id}/{index}"
        if event.event_id is None:
            plain.add(ref, event)
        else:
            one = _Contribution(guard=position(keys.dedupe(partition, sid, event.event_id)))
            one.add(ref, event)
            guarded.append(one)

    expire_at: dict[int, int] = {}

    def container(level: Level, second: int) -> int:
        """KEYS position of the container holding `second` at `level`, noting its expiry."""
        start = container_start(level, second)
        key_pos = position(keys.counters(partition, sid, level.container_s, start))
        expire_at[key_pos] = start + level.container_s + settings.counter_retention_s
        return key_pos

    body: list[list[object]] = []
    contributions = ([plain] if plain.members else []) + guarded
    for contribution in contributions:
        sums: Counter[tuple[int, str]] = Counter()  # (key position, field) -> amount
        for (second, bucket, stage), n in contribution.counts.items():
            for level in LEVELS:
                name = counter_field(slot_index(level, second), bucket, stage)
                sums[(container(level, second), name)] += n
        for (second, stage), n in contribution.errors.items():
            for level in LEVELS:
                name = counter_field(slot_index(level, second), ERRORS_FIELD, stage)
                sums[(container(level, second), name)] += n
        increments: list[int | str] = []
        for (key_pos, name), n in sums.items():
            increments += [key_pos, name, n]
        runs: list[list[object]] = []
        for run_id, run in contribution.runs.items():
            stages: list[int | str] = []
            for stage, n in run.stages.items():
                stages += [stage, n]
            runs.append([position(keys.run(partition, sid, run_id)), run_id, run.events,
                         run.errors, str(run.first_ms), str(run.last_ms), int(run.last_is_error),
                         run.last_type, stages])  # fmt: skip
        body.append([
            contribution.guard, str(contribution.newest_ms), str(contribution.newest_error_ms),
            contribution.newest_error, contribution.members, increments, runs,
        ])  # fmt: skip

    runs_index = position(keys.runs(partition, sid)) if any(c.runs for c in contributions) else 0
    batch_guard = 0
    if batch.idempotency_key is not None:
        batch_guard = position(keys.idempotency(partition, sid, batch.idempotency_key))
    args: list[Arg] = [
        keys.GROUP,
        entry_id,
        len(batch.events),
        now_ms - settings.raw_retention_s * 1000,
        (settings.raw_retention_s + settings.max_future_skew_s) * 1000,
        settings.dedupe_ttl_s,
        batch_guard,
        runs_index,
        settings.counter_retention_s,
        orjson.dumps({"c": [[pos, at] for pos, at in expire_at.items()], "k": body}),
    ]
    return ApplyPlan(keys=key_list, args=args)
