"""Reading counter containers for one system, each container fetched once per request."""

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from shared.model.stats import StagedStats, Stats, parsed
from shared.model.time_slots import (
    COUNT_FIELD,
    ERRORS_FIELD,
    HISTOGRAM_FIELD,
    HISTOGRAM_LEVEL,
    LEVELS,
    Level,
    container_start,
    cover,
    histogram_span,
    unpack_histogram,
)
from shared.store import keys
from shared.store.client import AsyncPipeline

Container = tuple[int, int]  # (container_s, container start s)


@dataclass
class Counters:
    partition: int
    system_id: int
    fields: dict[Container, dict[bytes, bytes]] = field(default_factory=dict)

    def need(self, containers: list[Container]) -> None:
        for c in containers:
            self.fields.setdefault(c, {})

    def queue(self, pipe: AsyncPipeline) -> list[Container]:
        """Queue an HGETALL of every needed container; `store` the replies in this order."""
        order = list(self.fields)
        for container_s, start in order:
            pipe.hgetall(keys.counters(self.partition, self.system_id, container_s, start))
        return order

    def store(self, order: list[Container], replies: list[dict[bytes, bytes]]) -> None:
        self.fields.update(zip(order, replies, strict=True))

    def window(self, start_s: int, end_s: int) -> StagedStats:
        """Statistics of the events whose second lies in [start_s, end_s] (needs `need_window`):
        counts and errors exactly, the latency histogram over `histogram_span` of the window."""
        # The hot loop of every health read (hundreds of fields for busy systems): work on the
        # raw bytes, test the slot before anything else.
        everything = _Tally()
        staged: dict[bytes, _Tally] = {}
        for container, count_slots, histogram_slots in _window_plan(start_s, end_s):
            for name, value in self.fields.get(container, {}).items():
                slot, _, rest = name.partition(b":")
                kind, _, stage = rest.partition(b":")
                histogram: dict[str, int] | None = None
                if kind == _HISTOGRAM:
                    if slot not in histogram_slots:
                        continue
                    histogram = unpack_histogram(value)
                elif slot not in count_slots:
                    continue
                tallies = [everything]
                if stage:
                    tally = staged.get(stage)
                    if tally is None:
                        tally = staged[stage] = _Tally()
                    tallies.append(tally)
                for tally in tallies:
                    if histogram is not None:
                        tally.histogram.update(histogram)
                    elif kind == _COUNT:
                        tally.total += int(value)
                    elif kind == _ERRORS:
                        tally.errors += int(value)
        stats = StagedStats(all=everything.stats())
        for stage, tally in staged.items():
            stats.stages[stage.decode()] = tally.stats()
        return stats

    def first_second(self, start_s: int, end_s: int) -> int | None:
        """The first second of the earliest slot of [start_s, end_s] that holds events (needs
        `need_window`), None when none does: no event of the window is older. Exact at the
        window's 1-s edges; a coarse slot in the middle answers its start (never later)."""
        best: int | None = None
        for (container_s, start), count_slots, _ in _window_plan_by_time(start_s, end_s):
            if best is not None and start >= best:
                break  # every later container starts after what was found
            slot_s = _SLOT_S[container_s]
            for name in self.fields.get((container_s, start), {}):
                slot, _, rest = name.partition(b":")
                if slot in count_slots and rest.partition(b":")[0] == _COUNT:
                    second = start + int(slot) * slot_s
                    if best is None or second < best:
                        best = second
        return best

    def need_window(self, start_s: int, end_s: int) -> None:
        self.need([container for container, _, _ in _window_plan(start_s, end_s)])

    def series(self, level: Level, start_s: int, end_s: int) -> list[tuple[int, Stats]]:
        """One Stats per `level` slot from the slot holding start_s to the one holding end_s."""
        out: dict[int, Stats] = {}
        first = start_s - start_s % level.slot_s
        for slot_start in range(first, end_s + 1, level.slot_s):
            out[slot_start] = Stats()
        for container in self._series_containers(level, start_s, end_s):
            for slot, bucket, _, n in parsed(self.fields.get(container, {})):
                slot_start = container[1] + slot * level.slot_s
                if slot_start in out:
                    out[slot_start].add_count(bucket, n)
        return sorted(out.items())

    def need_series(self, level: Level, start_s: int, end_s: int) -> None:
        self.need(self._series_containers(level, start_s, end_s))

    @staticmethod
    def _series_containers(level: Level, start_s: int, end_s: int) -> list[Container]:
        first = container_start(level, start_s)
        return [(level.container_s, c) for c in range(first, end_s + 1, level.container_s)]


# Per container: the slots whose counts it adds, and those whose histogram buckets it adds.
_Plan = tuple[tuple[Container, frozenset[bytes], frozenset[bytes]], ...]


@lru_cache(maxsize=1024)
def _window_plan(start_s: int, end_s: int) -> _Plan:
    """Per container of the window: the slots (as field prefixes) whose counts and errors it
    adds, and those whose histogram buckets it adds. The evaluator reads hundreds of systems
    for the same `now`, hence the same windows: computed once for all of them."""
    exact = cover(start_s, end_s)
    wide = cover(*histogram_span(start_s, end_s))
    return tuple(
        (
            container,
            frozenset(str(slot).encode() for slot in exact.get(container, ())),
            frozenset(str(slot).encode() for slot in wide.get(container, ())),
        )
        for container in sorted(exact.keys() | wide.keys())
    )


@lru_cache(maxsize=1024)
def _window_plan_by_time(start_s: int, end_s: int) -> _Plan:
    """`_window_plan`, the containers in the order of their start."""
    return tuple(sorted(_window_plan(start_s, end_s), key=lambda planned: planned[0][1]))


_SLOT_S = {level.container_s: level.slot_s for level in LEVELS}
_COUNT = COUNT_FIELD.encode()
_ERRORS = ERRORS_FIELD.encode()
_HISTOGRAM = HISTOGRAM_FIELD.encode()


class _Tally:
    __slots__ = ("total", "errors", "histogram")

    def __init__(self) -> None:
        self.total = 0
        self.errors = 0
        self.histogram: Counter[str] = Counter()

    def stats(self) -> Stats:
        return Stats(total=self.total, errors=self.errors, histogram=self.histogram)


def level_for(span_s: int, max_points: int) -> Level:
    """The finest resolution with latency histograms that shows `span_s` in at most `max_points`
    slots."""
    for level in LEVELS[HISTOGRAM_LEVEL:]:
        if span_s / level.slot_s <= max_points:
            return level
    return LEVELS[-1]
