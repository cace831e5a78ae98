"""The verdicts the jobs' evaluator recorded, for every system at once (the fleet overview).

The evaluator keeps each system's last verdict in one hash per partition (`keys.verdicts`,
written by transition.lua), so the overview of any fleet is one HGETALL per partition in one
pipeline instead of a health read per system. Each verdict says when it was evaluated; the
caller decides what is too old to trust (the jobs not running) and reads that system live.
Since GET /metrics, each also carries what it was judged on: the policy's window (events,
error ratio, p95 latency) and the newest event's ts; a value recorded before that has none.
"""

from dataclasses import dataclass

import orjson

from shared.model.verdict import Verdict
from shared.store import keys
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions


@dataclass(frozen=True, slots=True)
class Recorded:
    verdict: Verdict
    reason: str
    since_ms: int  # when the verdict began
    evaluated_ms: int  # when it was last confirmed
    # Over the policy's window at that evaluation; None when no event was in it (or recorded
    # by an evaluator that did not record them).
    error_ratio: float | None = None
    p95_ms: float | None = None
    last_event_ms: int | None = None  # the newest event the evaluation saw (None: none)


class Verdicts:
    def __init__(self, client: AsyncRedis, partitions: Partitions) -> None:
        self._client = client
        self._partitions = partitions
        # field -> (its value, the id, what was parsed): most values are the same from one read
        # to the next, and parsing 10 000 of them cost ~20 ms a read.
        self._parsed: dict[bytes, tuple[bytes, int, Recorded]] = {}

    async def all(self) -> dict[int, Recorded]:
        """Every recorded verdict by system id (deleted systems' too, until their purge). The
        same Recorded object stands for a value that did not change since the last call."""
        streams = (await self._partitions.layout()).streams
        pipe = self._client.pipeline(transaction=False)
        for p in range(streams):
            pipe.hgetall(keys.verdicts(p))
        found: dict[int, Recorded] = {}
        before, parsed = self._parsed, {}
        for fields in await pipe.execute():
            for field, value in fields.items():
                kept = before.get(field)
                if kept is None or kept[0] != value:
                    kept = (value, int(field), _parse(value))
                parsed[field] = kept
                found[kept[1]] = kept[2]
        self._parsed = parsed
        return found


def _parse(value: bytes) -> Recorded:
    v = orjson.loads(value)
    # [verdict, reason, since_ms, evaluated_ms, events, error ratio, p95 ms, last event ms], or
    # the first four when the last four would be zeros
    counted = len(v) > 4 and v[4] > 0
    return Recorded(
        _VERDICTS[v[0]], v[1], int(v[2]), int(v[3]),
        float(v[5]) if counted else None, float(v[6]) if counted else None,
        int(v[7]) if len(v) > 7 and v[7] > 0 else None,
    )  # fmt: skip


_VERDICTS = {v.value: v for v in Verdict}  # a dict lookup: Verdict(...) costs ~1 µs
