"""Turn decoded batches of one system into the KEYS and ARGV of `shared/store/lua/apply.lua` (pure).

Several stream entries of one system are applied by one script call, so their events are
aggregated here (worker/tally.py) into one contribution: one increment per counter field and one
merge per histogram field instead of one per event, and for a burst of entries far fewer fields
than events. Events with an `event_id` count in too: the script looks their ids up first and
refuses the call when one was applied before, and the caller plans again without it. Raw members
travel as plain ARGV values after the entry ids (no JSON escaping on the way in, no JSON decoding
in the script); the plan refers to them by position.
"""

import bisect
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import orjson

from shared.model.codec import ERROR, EVENT_ID, RAW_CHUNK_MS, TS, Batch, RowTuple
from shared.model.time_slots import COMPACT_BYTES, pack_histogram
from shared.settings import Settings
from shared.store import keys, scripts
from worker.tally import tally

Arg = scripts.Arg


def raw_batches(
    ref: str,
    events: Sequence[RowTuple],
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
    by_chunk: dict[int, list[RowTuple]] = {}
    for event in events:
        start = event[TS] - event[TS] % RAW_CHUNK_MS
        by_chunk.setdefault(start, []).append(event)
    if len(by_chunk) == 1 and rows_json is not None:
        (start,) = by_chunk
        return [start, b'["' + ref.encode() + b'",' + rows_json + b"]"]
    out: list[Arg] = []
    for start, group in by_chunk.items():
        out += (start, orjson.dumps([f"{ref}@{start}", [list(e) for e in group]]))
    return out


def raw_member(ref: str, event: RowTuple) -> bytes:
    """One raw event as `[ref, is_error, latency, type, stage, run, id, payload]`: how the meta
    hash keeps the newest error."""
    return orjson.dumps([ref, *event[ERROR:]])


@dataclass(frozen=True)
class ApplyPlan:
    keys: list[str]
    args: list[Arg]
    # (position in the planned batches, event index) of each guarded event id, in the order the
    # script numbers them when it answers DUPLICATES.
    guards: list[tuple[int, int]] = field(default_factory=list)
    # Events left out per batch position: known duplicates and repeats of an id within the call.
    left_out: dict[int, int] = field(default_factory=dict)


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


def dedupe_buckets(now_ms: int, ttl_s: int) -> tuple[int, list[int]]:
    """(the bucket an id applied now is written to, the buckets to look it up in).

    Ids are kept in sets of `ttl_s / 2` seconds of apply time; an id is found for at least
    `ttl_s` after its apply: the lookup covers the two buckets before the current one and, for a
    worker whose clock runs behind another's, the one after it."""
    width_s = max(1, ttl_s // 2)
    bucket = now_ms // 1000 // width_s
    return bucket, [bucket - 2, bucket - 1, bucket, bucket + 1]


def plan_apply(
    batches: list[tuple[str, Batch]],
    partition: int,
    settings: Settings,
    now_ms: int,
    duplicates: Mapping[int, AbstractSet[int]] | None = None,
) -> ApplyPlan:
    """Plan one atomic apply of `(entry id, batch)` pairs, all of one system.

    Every event counts into ONE contribution, those with an `event_id` included: the script
    first looks their ids up (read-only) and, if any was applied before, answers DUPLICATES
    without writing, and the caller plans again with `duplicates` (batch position -> event
    indexes) left out. Duplicates are rare, so the common call costs one increment per counter
    field whatever the share of events with ids. A repeated id within the call counts once.
    At most one of the batches may carry an Idempotency-Key (its guard covers the whole call).
    """
    system_id = batches[0][1].system_id
    kl = _Keys(partition, system_id)
    known = duplicates or {}
    events: list[RowTuple] = []
    # Where each batch's events start in `events`, and which of its events they are when some
    # were left out (None: all of them, in order).
    offsets: list[int] = []
    kept_of: list[list[int] | None] = []
    members: list[Arg] = []
    guards: list[tuple[int, int]] = []
    guard_ids: list[str] = []
    seen_ids: set[str] = set()
    left_out: dict[int, int] = {}
    batch_guard = 0
    with_uncounted = False
    for position, (entry_id, batch) in enumerate(batches):
        assert batch.system_id == system_id, "one system per apply"
        if batch.idempotency_key is not None:
            assert len(batches) == 1, "a batch with an Idempotency-Key is applied alone"
            batch_guard = kl.position(keys.idempotency(partition, system_id, batch.idempotency_key))
        with_uncounted = with_uncounted or batch.uncounted != 0
        kept: list[int] | None = None
        if batch.with_ids != 0:  # 0 is known from decoding: no pass over the events needed
            gone = known.get(position, ())
            ids = [(i, e[EVENT_ID]) for i, e in enumerate(batch.events) if e[EVENT_ID] is not None]
            dropped = set()
            for index, eid in ids:
                if index in gone or eid in seen_ids:
                    dropped.add(index)
                    continue
                seen_ids.add(eid)
                guards.append((position, index))
                guard_ids.append(eid)
            if dropped:
                kept = [i for i in range(len(batch.events)) if i not in dropped]
        offsets.append(len(events))
        kept_of.append(kept)
        if kept is None:
            events += batch.events
            members += raw_batches(entry_id, batch.events, batch.rows_json, batch.ts_range_ms)
            continue
        # Rare: some events of the entry are left out. Each kept one is stored on its own, so
        # that its raw ref (`<entry id>/<index>`) still names its place in the entry.
        left_out[position] = len(batch.events) - len(kept)
        for index in kept:
            event = batch.events[index]
            events.append(event)
            members += raw_batches(f"{entry_id}/{index}", [event], None)

    counted = tally(events, with_uncounted)
    entry_ids = [entry_id for entry_id, _ in batches]
    tail: list[Arg] = [len(entry_ids), *entry_ids]  # ARGV after the fixed ones

    def container(c: tuple[int, int]) -> int:
        return kl.position(keys.counters(partition, system_id, *c))

    expiries: dict[int, int] = {}
    increments: list[int | str] = []
    for c, fields in counted.counts.items():
        pos = container(c)
        expiries[pos] = c[1] + c[0] + settings.counter_retention_s
        for name, n in fields.items():
            increments += (pos, name, n)
    deltas: list[tuple[int, str, dict[str, int]]] = []
    for c, histograms in counted.histograms.items():
        pos = container(c)
        for name, histogram in histograms.items():
            deltas.append((pos, name, histogram))
    runs: list[list[object]] = []
    for run in counted.runs:
        stages: list[int | str] = []
        for stage, n in run.stages.items():
            stages += (stage, n)
        runs.append([kl.position(keys.run(partition, system_id, run.run_id)), run.run_id,
                     run.events, run.errors, str(run.first_ms), str(run.last_ms), run.last_error,
                     run.last_type, stages])  # fmt: skip
    newest_error_ms, newest_error = 0, b""
    if counted.newest_error is not None:
        at = counted.newest_error
        position = bisect.bisect_right(offsets, at) - 1
        kept = kept_of[position]
        index = at - offsets[position] if kept is None else kept[at - offsets[position]]
        event = events[at]
        newest_error_ms = event[TS]
        newest_error = raw_member(f"{batches[position][0]}/{index}", event)
    # ARGV positions (1-based) of the first raw score and the last raw member.
    first_member = scripts.APPLY_FIXED_ARGS + len(tail) + 1
    tail += members
    last_member = scripts.APPLY_FIXED_ARGS + len(tail)
    # Each histogram's additions travel packed as the store keeps them (time_slots.py), in ARGV:
    # the script appends them to the field without decoding anything.
    merges: list[int | str] = []
    for pos, name, histogram in deltas:
        tail.append(pack_histogram(histogram))
        merges += (pos, name, scripts.APPLY_FIXED_ARGS + len(tail))
    dedupe: dict[str, object] = {}
    if guard_ids:
        into, lookups = dedupe_buckets(now_ms, settings.dedupe_ttl_s)
        width_s = max(1, settings.dedupe_ttl_s // 2)
        dedupe = {
            "g": guard_ids,
            "l": [kl.position(keys.dedupe(partition, system_id, b)) for b in lookups],
            "w": kl.position(keys.dedupe(partition, system_id, into)),
            # The bucket's last id must be found for dedupe_ttl_s after the bucket ends.
            "x": (into + 1) * width_s + settings.dedupe_ttl_s,
        }
    plan = {
        "s": system_id,
        "c": [[pos, at] for pos, at in expiries.items()],
        "n": str(counted.newest_ms),
        "e": str(newest_error_ms),
        "em": newest_error.decode(),
        "m": [first_member, last_member],
        "i": increments,
        "h": merges,
        "z": COMPACT_BYTES,
        "r": runs,
        **dedupe,
    }
    args = scripts.apply_args(
        events=sum(len(batch.events) for _, batch in batches),
        # A member is scored by the start of its bucket: keep a bucket until its end is too old.
        raw_cutoff_ms=now_ms - settings.raw_retention_s * 1000 - RAW_CHUNK_MS,
        raw_ttl_ms=(settings.raw_retention_s + settings.max_future_skew_s) * 1000,
        dedupe_ttl_s=settings.dedupe_ttl_s,
        batch_guard=batch_guard,
        runs_index=kl.position(keys.runs(partition, system_id)) if runs else 0,
        run_retention_s=settings.counter_retention_s,
        plan_json=orjson.dumps(plan),
        tail=tail,
    )
    return ApplyPlan(keys=kl.list, args=args, guards=guards, left_out=left_out)
