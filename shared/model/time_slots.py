"""Counter slots at several resolutions, so that reading any window costs a bounded number of keys.

Counters are kept at five resolutions (1 s, 10 s, 1 min, 10 min, 1 h). Slots of one resolution are
grouped into a *container* hash (ten 1-s slots per 10-s container, six 10-s slots per minute, ...),
field `"<slot>:n"` holding the event count, `"<slot>:e"` the error count and, from the 10-s
resolution up, `"<slot>:h"` the latency histogram, MessagePack maps {bucket: count} whose counts
add up (see `COMPACT_BYTES`); each followed by `":<stage>"` for events that name a stage (a
system's totals sum over stages). A window `[start, end]` in
whole seconds is covered exactly by aligned slots, coarse in the middle and fine at the edges; all
the slots needed at one resolution lie in at most two containers, so a read touches at most ten
hashes whatever the window length or the number of events.

Counts and errors are exact to the second. Latency histograms start at 10 s (`histogram_span`
widens a window to whole 10-s slots): a histogram has up to a few hundred buckets, and writing and
reading them per second would multiply the cost of every write and every read by ~5 for a
precision that no latency quantile needs. A histogram is one field, not one field per bucket: the
store's cost per applied event is one script command per *field* it increments (~1.5 µs each,
whatever the field), and a burst of events spreads over tens of buckets per slot and stage, so
apply.lua adds a whole slot's buckets with one HGET and one HSET instead of one HINCRBY each.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import msgpack

from shared.store.keys import COUNT_FIELD, ERRORS_FIELD, HISTOGRAM_FIELD

# re-exported beside the field formats below
__all__ = ["COUNT_FIELD", "ERRORS_FIELD", "HISTOGRAM_FIELD"]


@dataclass(frozen=True, slots=True)
class Level:
    slot_s: int
    container_s: int


LEVELS: tuple[Level, ...] = (
    Level(1, 10),
    Level(10, 60),
    Level(60, 600),
    Level(600, 3600),
    Level(3600, 86_400),
)


# Index in LEVELS of the finest resolution that keeps latency histograms.
HISTOGRAM_LEVEL = 1


def histogram_span(start_s: int, end_s: int) -> tuple[int, int]:
    """The inclusive second range, widened to whole slots of the finest histogram resolution."""
    slot_s = LEVELS[HISTOGRAM_LEVEL].slot_s
    return start_s - start_s % slot_s, end_s - end_s % slot_s + slot_s - 1


def container_start(level: Level, second: int) -> int:
    return second - second % level.container_s


def slot_index(level: Level, second: int) -> int:
    return (second % level.container_s) // level.slot_s


def counter_field(slot: int, kind: str, stage: str = "") -> str:
    """`<slot>:<kind>` (kind: COUNT_FIELD, ERRORS_FIELD or HISTOGRAM_FIELD), then `:<stage>` for
    events of a stage."""
    return f"{slot}:{kind}:{stage}" if stage else f"{slot}:{kind}"


def parse_field(name: str) -> tuple[int, str, str]:
    """(slot, COUNT_FIELD or ERRORS_FIELD or HISTOGRAM_FIELD, stage or "") of a counter field."""
    slot, kind, *stage = name.split(":", 2)
    return int(slot), kind, stage[0] if stage else ""


# A histogram field holds one or more MessagePack maps {bucket: count} one after the other, whose
# counts add up: apply.lua appends each apply's additions and sums the maps into one when the field
# would grow past this many bytes (a map of ~150 buckets is ~800 bytes, a burst adds ~100-300;
# a read decodes at most this much per field).
COMPACT_BYTES = 3072


def pack_histogram(histogram: Mapping[str, int]) -> bytes:
    """{bucket: count} as one MessagePack map (what apply.lua's `cmsgpack.pack` writes too)."""
    return msgpack.packb(dict(histogram))  # type: ignore[no-any-return]


def unpack_histogram(value: bytes) -> dict[str, int]:
    """{bucket: count} of a histogram field's value (its maps summed)."""
    unpacker = msgpack.Unpacker()
    unpacker.feed(value)
    maps: list[dict[str, int]] = list(unpacker)
    if len(maps) == 1:
        return maps[0]
    total: dict[str, int] = {}
    for histogram in maps:
        for bucket, n in histogram.items():
            total[bucket] = total.get(bucket, 0) + n
    return total


def cover(start_s: int, end_s: int) -> dict[tuple[int, int], set[int]]:
    """Exact cover of the inclusive second range by aligned slots.

    Returns `{(container_s, container_start_s): {slot indexes}}`; every second in the range lies in
    exactly one returned slot and no second outside it does.
    """
    wanted: dict[tuple[int, int], set[int]] = defaultdict(set)
    lo, hi = start_s, end_s + 1  # half-open, aligned to the current level's slot size
    if lo >= hi:
        return {}

    def take(level: Level, a: int, b: int) -> None:
        for slot_start in range(a, b, level.slot_s):
            key = (level.container_s, container_start(level, slot_start))
            wanted[key].add(slot_index(level, slot_start))

    for i, level in enumerate(LEVELS):
        if i + 1 == len(LEVELS):
            take(level, lo, hi)
            break
        coarser = LEVELS[i + 1].slot_s
        lo_up = -(-lo // coarser) * coarser
        hi_down = hi // coarser * coarser
        if lo_up >= hi_down:
            take(level, lo, hi)
            break
        take(level, lo, lo_up)
        take(level, hi_down, hi)
        lo, hi = lo_up, hi_down
    return dict(wanted)
