"""Count the events of one apply call into counter fields, histograms and run summaries (pure).

This is the worker's hot loop, so it works on columns: each event property becomes one numpy
array (a list comprehension per column is the only per-event Python), and every count is one
`bincount` over integer cell codes per resolution. Python then loops over the distinct cells
only: a slot and stage per count field, a slot, stage and latency bucket per histogram entry,
far fewer than events in a burst.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from shared.model.codec import ERROR, LATENCY, RUN, STAGE, TS, TYPE, RowTuple
from shared.model.events import NOTE, RUN_END, RUN_MARKERS, UNCOUNTED_TYPES
from shared.model.sketch import LOG_GAMMA, ZERO_BUCKET, bucket_of
from shared.model.time_slots import (
    COUNT_FIELD,
    ERRORS_FIELD,
    HISTOGRAM_FIELD,
    HISTOGRAM_LEVEL,
    LEVELS,
    Level,
)

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Container = tuple[int, int]  # (container_s, container start s)

# Bucket indexes are computed with numpy's log; where the quotient lies this close to an integer,
# numpy's and the math module's logarithms may round it to different sides of the bucket's edge,
# so those few latencies are placed by `bucket_of` itself: the buckets are exactly its buckets.
_EDGE = 1e-9
_ZERO_INDEX = -(2**40)  # stands for ZERO_BUCKET among the bucket indexes
# Dense counting (bincount) up to this many cells per resolution; np.unique beyond (a call whose
# events span days at 10-s slots).
_DENSE_MAX = 1 << 20


def bucket_indexes(latencies: Floats) -> Ints:
    """`bucket_of` of every latency, as its integer index (_ZERO_INDEX for the zero bucket)."""
    positive = latencies > 0
    quotient = np.log(np.where(positive, latencies, 1.0)) / LOG_GAMMA
    indexes = np.ceil(quotient).astype(np.int64)
    near = np.flatnonzero(positive & (np.abs(quotient - np.rint(quotient)) < _EDGE))
    for i in near.tolist():
        indexes[i] = int(bucket_of(float(latencies[i])))
    indexes[~positive] = _ZERO_INDEX
    return indexes


@dataclass
class RunSummary:
    """What one call adds to one run's summary (apply.lua merges it into the stored one)."""

    run_id: str
    events: int
    errors: int
    first_ms: int
    last_ms: int
    last_error: int  # 1: the newest event is an error
    last_type: str
    stages: dict[str, int]


@dataclass
class Tally:
    counts: dict[Container, dict[str, int]] = field(default_factory=dict)  # field -> n
    histograms: dict[Container, dict[str, dict[str, int]]] = field(default_factory=dict)
    runs: list[RunSummary] = field(default_factory=list)
    newest_ms: int = 0
    newest_error: int | None = None  # position in `events` of the newest error


def _codes(values: list[str]) -> tuple[list[str], Ints]:
    """(distinct values in first-seen order, each value's index in them)."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return distinct, np.zeros(len(values), dtype=np.int64)
    index = {v: i for i, v in enumerate(distinct)}
    return distinct, np.array([index[v] for v in values], dtype=np.int64)


def tally(events: Sequence[RowTuple], with_uncounted: bool) -> Tally:
    """Count `events` (in their apply order). With `with_uncounted`, some may be run markers or
    notes (UNCOUNTED_TYPES): runs take them in, counters do not."""
    out = Tally()
    if not events:
        return out
    ts_ms = np.array([e[TS] for e in events], dtype=np.int64)
    errors = np.array([e[ERROR] for e in events], dtype=np.int64)
    stages, stage_of = _codes([e[STAGE] or "" for e in events])
    kinds = [e[TYPE] for e in events] if with_uncounted else None
    _runs(events, kinds, ts_ms, errors, stages, stage_of, out)
    counted: Ints | None = None  # positions of the counted events, when some are not
    if kinds is not None:
        mask = np.array([k not in UNCOUNTED_TYPES for k in kinds], dtype=bool)
        if not mask.all():
            counted = np.flatnonzero(mask)
            if not counted.size:
                return out
    latencies = np.array([e[LATENCY] for e in events], dtype=np.float64)
    if counted is not None:
        ts_ms, errors, stage_of, latencies = (
            ts_ms[counted], errors[counted], stage_of[counted], latencies[counted]
        )  # fmt: skip
    seconds = ts_ms // 1000
    indexes = bucket_indexes(latencies)
    present, bucket_of_event = np.unique(indexes, return_inverse=True)
    names = [ZERO_BUCKET if i == _ZERO_INDEX else str(i) for i in present.tolist()]
    bucket_of_event = bucket_of_event.reshape(-1)

    out.newest_ms = int(ts_ms.max())
    failed = np.flatnonzero(errors)
    if failed.size:
        failed_ts = ts_ms[failed]
        # The newest error; on a tie the one applied last (the last position).
        last = int(failed[np.flatnonzero(failed_ts == failed_ts.max())[-1]])
        out.newest_error = last if counted is None else int(counted[last])

    for index, level in enumerate(LEVELS):
        slots = seconds - seconds % level.slot_s
        base = int(slots.min())
        cell = (slots - base) // level.slot_s * len(stages) + stage_of
        _add_counts(out, level, base, stages, cell, COUNT_FIELD)
        if failed.size:
            _add_counts(out, level, base, stages, cell[failed], ERRORS_FIELD)
        if index >= HISTOGRAM_LEVEL:
            _add_histograms(out, level, base, stages, cell, names, bucket_of_event)
    return out


def _field(
    level: Level, base: int, stages: list[str], cell: int, kind: str
) -> tuple[Container, str]:
    slot_start = base + cell // len(stages) * level.slot_s
    stage = stages[cell % len(stages)]
    start = slot_start - slot_start % level.container_s
    slot = (slot_start - start) // level.slot_s
    name = f"{slot}:{kind}:{stage}" if stage else f"{slot}:{kind}"
    return (level.container_s, start), name


def _present_arrays(cells: Ints, size: int) -> tuple[Ints, Ints]:
    """(the distinct cells in order, how many times each occurs)."""
    if size <= _DENSE_MAX:
        counts = np.bincount(cells, minlength=size)
        found = np.flatnonzero(counts)
        return found, counts[found]
    distinct, n = np.unique(cells, return_counts=True)
    return distinct, n


def _present(cells: Ints, size: int) -> tuple[list[int], list[int]]:
    found, n = _present_arrays(cells, size)
    return found.tolist(), n.tolist()


def _add_counts(
    out: Tally, level: Level, base: int, stages: list[str], cells: Ints, kind: str
) -> None:
    found, n = _present(cells, int(cells.max()) + 1)
    for cell, count in zip(found, n, strict=True):
        container, name = _field(level, base, stages, cell, kind)
        fields = out.counts.get(container)
        if fields is None:
            fields = out.counts[container] = {}
        fields[name] = count


def _add_histograms(
    out: Tally,
    level: Level,
    base: int,
    stages: list[str],
    cells: Ints,
    names: list[str],
    bucket_of_event: Ints,
) -> None:
    width = len(names)
    codes = cells * width + bucket_of_event
    found, n = _present_arrays(codes, (int(cells.max()) + 1) * width)
    # The codes come sorted: each (slot, stage) cell's buckets are one run of them, made into
    # one dict at a time.
    of_cell = found // width
    bucket_names = np.array(names, dtype=object)[found % width].tolist()
    counts = n.tolist()
    starts = np.flatnonzero(np.diff(of_cell, prepend=-1)).tolist()
    ends = [*starts[1:], len(counts)]
    for begin, end in zip(starts, ends, strict=True):
        container, name = _field(level, base, stages, int(of_cell[begin]), HISTOGRAM_FIELD)
        fields = out.histograms.get(container)
        if fields is None:
            fields = out.histograms[container] = {}
        fields[name] = dict(zip(bucket_names[begin:end], counts[begin:end], strict=True))


def _runs(
    events: Sequence[RowTuple],
    kinds: list[str] | None,
    ts_ms: Ints,
    errors: Ints,
    stages: list[str],
    stage_of: Ints,
    out: Tally,
) -> None:
    """Run summaries: every event with a run id but notes; run markers (RUN_MARKERS) bound and
    name a run without counting in it. `kinds`: the event types, None when all are counted."""
    if kinds is not None:
        ids = [e[RUN] if k != NOTE else None for e, k in zip(events, kinds, strict=True)]
    else:
        ids = [e[RUN] for e in events]
    runs, run_of = _codes([r or "" for r in ids])
    if runs == [""]:
        return
    marker = None
    if kinds is not None and not RUN_MARKERS.isdisjoint(kinds):
        marker = np.array([k in RUN_MARKERS for k in kinds], dtype=bool)
    for code, run_id in enumerate(runs):
        if not run_id:
            continue
        members = np.flatnonzero(run_of == code)
        run_ts = ts_ms[members]
        first_ms, last_ms = int(run_ts.min()), int(run_ts.max())
        tied = members[run_ts == last_ms].tolist()
        # On a tie the run's end names the state (apply.lua keeps the same rule across calls),
        # else the event applied last.
        newest = tied[-1]
        if kinds is not None:
            newest = next((i for i in tied if kinds[i] == RUN_END), newest)
        counted = members if marker is None else members[~marker[members]]
        by_stage = np.bincount(stage_of[counted], minlength=len(stages)).tolist()
        out.runs.append(
            RunSummary(
                run_id=run_id,
                events=int(counted.size),
                errors=int(errors[counted].sum()),
                first_ms=first_ms,
                last_ms=last_ms,
                last_error=int(errors[newest]),
                last_type=events[newest][TYPE],
                stages={stage: n for stage, n in zip(stages, by_stage, strict=True) if stage and n},
            )
        )
