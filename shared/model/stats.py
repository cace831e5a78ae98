"""Event statistics assembled from counter fields (shared/model/time_slots.py): totals, errors
and a latency sketch, for a whole system and per stage."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.model.sketch import quantiles
from shared.model.time_slots import (
    COUNT_FIELD,
    ERRORS_FIELD,
    HISTOGRAM_FIELD,
    parse_field,
    unpack_histogram,
)
from shared.store.client import text


@dataclass
class Stats:
    total: int = 0
    errors: int = 0
    histogram: Counter[str] = field(default_factory=Counter)

    @property
    def error_rate(self) -> float:
        return self.errors / self.total if self.total else 0.0

    def quantiles(self, *qs: float) -> tuple[float, ...]:
        return quantiles(self.histogram, qs)

    def add_count(self, bucket: str, n: int) -> None:
        """Add one counter field: the event count, the error count or a histogram bucket."""
        if bucket == ERRORS_FIELD:
            self.errors += n
        elif bucket == COUNT_FIELD:
            self.total += n
        else:
            self.histogram[bucket] += n

    def merge(self, other: "Stats") -> None:
        self.total += other.total
        self.errors += other.errors
        self.histogram.update(other.histogram)


@dataclass
class StagedStats:
    """A system's statistics, and the same per stage (events without a stage are in `all` only)."""

    all: Stats = field(default_factory=Stats)
    stages: dict[str, Stats] = field(default_factory=dict)


def parsed(fields: Mapping[bytes, bytes]) -> Iterable[tuple[int, str, str, int]]:
    """(slot, COUNT_FIELD or ERRORS_FIELD or a histogram bucket, stage, count) of every count of
    one counter container."""
    for raw_name, value in fields.items():
        slot, kind, stage = parse_field(text(raw_name))
        if kind == HISTOGRAM_FIELD:
            for bucket, n in unpack_histogram(value).items():
                yield slot, bucket, stage, n
        else:
            yield slot, kind, stage, int(value)
