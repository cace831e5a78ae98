"""Turn decoded batches of one system into the KEYS and ARGV of `shared/store/lua/apply.lua` (pure).

Several stream entries of one system are applied by one script call, so their events are
aggregated here, in Python, into one *unconditional* contribution: one increment per counter
field instead of one per event, and for a burst of entries far fewer fields than events. Each event
with an `event_id` becomes its own contribution guarded by a dedupe marker, which the script checks
and sets atomically. Raw members travel as plain ARGV values after the entry ids (no JSON escaping
on the way in, no JSON decoding in the script); contributions refer to them by position.

This is the worker's hot loop: it works on plain tuples and dicts, and caches latency buckets.
"""

from collections import Counter
from dataclasses import dataclass, field

import orjson

from shared.model.codec import RAW_CHUNK_MS, Batch, Row
from shared.model.events import NOTE, RUN_END, RUN_MARKERS, UNCOUNTED_TYPES
from shared.model.sketch import bucket_of
from shared.model.time_slots import (
    COUNT_FIELD,
    ERRORS_FIELD,
    HISTOGRAM_LEVEL,
    LEVELS,
    container_start,
    slot_index,
)
from shared.settings import Settings
from shared.store import keys, scripts

Arg = scripts.Arg

ALL_LEVELS = range(len(LEVELS))
HISTOGRAM_LEVELS = range(HISTOGRAM_LEVEL, len(LEVELS))

# Latencies repeat a lot (clients round them), and log() is the costliest step per event.
_bucket_cache: dict[float, str] = {}
_BUCKET_CACHE_MAX = 65_536


def _bucket(latency_ms: float) -> str:
    bucket = _bucket_cache.get(latency_ms)
    if bucket is None:
        if len(_bucket_cache) >= _BUCKET_CACHE_MAX:
            _bucket_cache.clear()
        bucket = _bucket_cache[latency_ms] = bucket_of(latency_ms)
    return bucket


def raw_batches(
    ref: str,
    events: list[Row],
    rows_json: bytes | None,
    ts_range_ms: tuple[int, int] | None = None,
) -> list[Arg]:
    """Raw-event members (score, member, ...) of events that arrived together: one member
    `[ref, [row, ...]]` per RAW_CHUNK_MS of event time that they touch, scored by that chunk's
    start. `rows_json`, the rows as the stream entry holds them, is stored without re-encoding
    when all the events fall in one chunk (the usual case: a batch is a burst)."""
    if not events:
        return []
    if rows_json is not None and ts_range_ms is not None:
        start = ts_range_ms[0] - ts_range_ms[0] % RAW_CHUNK_MS
        if ts_range_ms[1] < start + RAW_CHUNK_MS:
            return [start, b'["' + ref.encode() + b'",' + rows_json + b"]"]
    by_chunk: dict[int, list[Row]] = {}
    for event in events:
        start = event.ts_ms - event.ts_ms % RAW_CHUNK_MS
        by_chunk.setdefault(start, []).append(event)
    if len(by_chunk) == 1 and rows_json is not None:
        (start,) = by_chunk
        return [start, b'["' + ref.encode() + b'",' + rows_json + b"]"]
    out: list[Arg] = []
    for start, group in by_chunk.items():
        out += (start, orjson.dumps([f"{ref}@{start}", [list(e) for e in group]]))
    return out


def raw_member(ref: str, event: Row) -> bytes:
    """One raw event as `[ref, is_error, latency, type, stage, run, id, payload]`: how the meta
    hash keeps the newest error."""
    return orjson.dumps(
        [
            ref,
            event.error,
            event.latency_ms,
            event.event_type,
            event.stage,
            event.run_id,
            event.event_id,
            event.payload,
        ]
    )


@dataclass
class _Run:
    """What one contribution adds to one run's summary."""

    events: int = 0
    errors: int = 0
    first_ms: int = 2**63
    last_ms: int = -(2**63)
    last_error: int = 0  # 1: the newest event is an error
    last_type: str = ""
    stages: dict[str, int] = field(default_factory=dict)

    def add(self, event: Row) -> None:
        marker = event.event_type in RUN_MARKERS
        if not marker:  # a marker bounds the run and names its state; it is not one of its events
            self.events += 1
            self.errors += event.error
            if event.stage:
                self.stages[event.stage] = self.stages.get(event.stage, 0) + 1
        self.first_ms = min(self.first_ms, event.ts_ms)
        # On a tie the run's end stays its end (apply.lua keeps the same rule across calls).
        if event.ts_ms > self.last_ms or (
            event.ts_ms == self.last_ms and self.last_type != RUN_END
        ):
            self.last_ms, self.last_error = event.ts_ms, event.error
            self.last_type = event.event_type


@dataclass
class _Contribution:
    guard: int = 0  # KEYS position of the dedupe marker; 0: unconditional
    newest_ms: int = 0
    newest_error_ms: int = 0
    newest_error: bytes = b""  # the raw member of the newest error
    members: list[Arg] = field(default_factory=list)  # score, member, ...
    counts: dict[tuple[int, str, str], int] = field(default_factory=dict)  # second, bucket, stage
    errors: dict[tuple[int, str], int] = field(default_factory=dict)  # second, stage
    runs: dict[str, _Run] = field(default_factory=dict)

    def add(
        self, entry_id: str, events: list[Row], first_index: int = 0, uncounted: bool = False
    ) -> None:
        """Count `events` (of stream entry `entry_id`, the first at `first_index`) in; with
        `uncounted`, some of them are run markers or notes, which only runs take in."""
        self._add_runs(events)
        counted = events
        if uncounted:
            counted = [e for e in events if e.event_type not in UNCOUNTED_TYPES]
            if not counted:
                return
        # The worker's hot loop: comprehensions and Counter's C counting, no per-event calls.
        bucket = _bucket
        cells = Counter([(e.ts_ms // 1000, bucket(e.latency_ms), e.stage or "") for e in counted])
        for cell, n in cells.items():
            self.counts[cell] = self.counts.get(cell, 0) + n
        self.newest_ms = max(self.newest_ms, max(e.ts_ms for e in counted))
        # Positions in `events`, so that the newest error's ref names its place in the entry.
        failed = [
            (e.ts_ms, i)
            for i, e in enumerate(events)
            if e.error and not (uncounted and e.event_type in UNCOUNTED_TYPES)
        ]
        if failed:
            error_cells = Counter([(ts // 1000, events[i].stage or "") for ts, i in failed])
            for error_cell, n in error_cells.items():
                self.errors[error_cell] = self.errors.get(error_cell, 0) + n
            ts_ms, i = max(failed)
            if ts_ms >= self.newest_error_ms:
                ref = f"{entry_id}/{first_index + i}"
                self.newest_error_ms, self.newest_error = ts_ms, raw_member(ref, events[i])

    def _add_runs(self, events: list[Row]) -> None:
        for event in events:
            if event.run_id is not None and event.event_type != NOTE:
                run = self.runs.get(event.run_id)
                if run is None:
                    run = self.runs[event.run_id] = _Run()
                run.add(event)


@dataclass(frozen=True)
class ApplyPlan:
    keys: list[str]
    args: list[Arg]


class _Keys:
    """KEYS of one script call: the fixed six, then every other key once, in first-use order."""

    def __init__(self, partition: int, system_id: int) -> None:
        self.partition, self.system_id = partition, system_id
        self.list = [
            keys.stream(partition),
            keys.raw_events(partition, system_id),
            keys.system_meta(partition, system_id),
            keys.partition_stats(partition),
            keys.dirty(partition),
            keys.deleted(partition, system_id),
        ]
        self._positions: dict[str, int] = {}

    def position(self, key: str) -> int:
        """1-based KEYS index of `key`, appending it on first use."""
        pos = self._positions.get(key)
        if pos is None:
            self.list.append(key)
            pos = self._positions[key] = len(self.list)
        return pos


def plan_apply(
    batches: list[tuple[str, Batch]], partition: int, settings: Settings, now_ms: int
) -> ApplyPlan:
    """Plan one atomic apply of `(entry id, batch)` pairs, all of one system.

    At most one of them may carry an Idempotency-Key (its guard covers the whole call).
    """
    # One long function on purpose: this is the worker's hot loop (bench.drain), and the nested
    # helpers share its local caches (`targets_of`, `expiries`) without attribute lookups.
    system_id = batches[0][1].system_id
    kl = _Keys(partition, system_id)
    plain = _Contribution()
    guarded: list[_Contribution] = []
    batch_guard = 0
    for entry_id, batch in batches:
        assert batch.system_id == system_id, "one system per apply"
        if batch.idempotency_key is not None:
            assert len(batches) == 1, "a batch with an Idempotency-Key is applied alone"
            batch_guard = kl.position(keys.idempotency(partition, system_id, batch.idempotency_key))
        if batch.with_ids == 0:  # known from decoding: no pass over the events needed
            plain_rows = batch.events
        else:
            plain_rows = []
            for index, event in enumerate(batch.events):
                if event.event_id is None:
                    plain_rows.append(event)
                    continue
                one = _Contribution(
                    guard=kl.position(keys.dedupe(partition, system_id, event.event_id))
                )
                one.add(entry_id, [event], index, event.event_type in UNCOUNTED_TYPES)
                one.members += raw_batches(f"{entry_id}/{index}", [event], None)
                guarded.append(one)
        if plain_rows:
            plain.add(entry_id, plain_rows, uncounted=batch.uncounted != 0)
        verbatim = batch.rows_json if len(plain_rows) == len(batch.events) else None
        plain.members += raw_batches(entry_id, plain_rows, verbatim, batch.ts_range_ms)

    entry_ids = [entry_id for entry_id, _ in batches]
    tail: list[Arg] = [len(entry_ids), *entry_ids]  # ARGV after the fixed ones
    expiries: dict[int, int] = {}

    targets_of: dict[int, list[tuple[int, str]]] = {}

    def targets(second: int) -> list[tuple[int, str]]:
        """(KEYS position of the container, slot index) of `second` at every level, in LEVELS
        order; noting each container's expiry."""
        found = targets_of.get(second)
        if found is None:
            found = targets_of[second] = []
            for level in LEVELS:
                start = container_start(level, second)
                key = keys.counters(partition, system_id, level.container_s, start)
                pos = kl.position(key)
                expiries[pos] = start + level.container_s + settings.counter_retention_s
                found.append((pos, str(slot_index(level, second))))
        return found

    body: list[list[object]] = []
    for contribution in ([plain] if plain.members else []) + guarded:
        sums: dict[tuple[int, str], int] = {}
        totals: dict[tuple[int, str], int] = {}
        for (second, bucket, stage), n in contribution.counts.items():
            suffix = f":{bucket}:{stage}" if stage else f":{bucket}"
            for key_pos, slot in targets(second)[HISTOGRAM_LEVEL:]:
                cell = (key_pos, slot + suffix)
                sums[cell] = sums.get(cell, 0) + n
            totals[(second, stage)] = totals.get((second, stage), 0) + n
        for name, cells in ((COUNT_FIELD, totals), (ERRORS_FIELD, contribution.errors)):
            for (second, stage), n in cells.items():
                suffix = f":{name}:{stage}" if stage else f":{name}"
                for key_pos, slot in targets(second):
                    cell = (key_pos, slot + suffix)
                    sums[cell] = sums.get(cell, 0) + n
        increments: list[int | str] = []
        for (key_pos, name), n in sums.items():
            increments += (key_pos, name, n)
        runs: list[list[object]] = []
        for run_id, run in contribution.runs.items():
            stages: list[int | str] = []
            for stage, n in run.stages.items():
                stages += (stage, n)
            runs.append([kl.position(keys.run(partition, system_id, run_id)), run_id, run.events,
                         run.errors, str(run.first_ms), str(run.last_ms), run.last_error,
                         run.last_type, stages])  # fmt: skip
        # ARGV positions (1-based) of this contribution's first raw score and last raw member.
        first_member = scripts.APPLY_FIXED_ARGS + len(tail) + 1
        tail += contribution.members
        last_member = scripts.APPLY_FIXED_ARGS + len(tail)
        body.append([
            contribution.guard, str(contribution.newest_ms), str(contribution.newest_error_ms),
            contribution.newest_error.decode(), first_member, last_member, increments, runs,
        ])  # fmt: skip

    with_runs = any(c.runs for c in [plain, *guarded])
    args = scripts.apply_args(
        events=sum(len(batch.events) for _, batch in batches),
        # A member is scored by the start of its bucket: keep a bucket until its end is too old.
        raw_cutoff_ms=now_ms - settings.raw_retention_s * 1000 - RAW_CHUNK_MS,
        raw_ttl_ms=(settings.raw_retention_s + settings.max_future_skew_s) * 1000,
        dedupe_ttl_s=settings.dedupe_ttl_s,
        batch_guard=batch_guard,
        runs_index=kl.position(keys.runs(partition, system_id)) if with_runs else 0,
        run_retention_s=settings.counter_retention_s,
        plan_json=orjson.dumps(
            {"s": system_id, "c": [[pos, at] for pos, at in expiries.items()], "k": body}
        ),
        tail=tail,
    )
    return ApplyPlan(keys=kl.list, args=args)
