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

    async def all(self) -> dict[int, Recorded]:
        """Every recorded verdict by system id (deleted systems' too, until their purge)."""
        streams = (await self._partitions.layout()).streams
        pipe = self._client.pipeline(transaction=False)
        for p in range(streams):
            pipe.hgetall(keys.verdicts(p))
        found: dict[int, Recorded] = {}
        named = _VERDICTS
        for fields in await pipe.execute():
            for system_id, value in fields.items():
                v = orjson.loads(value)
                # [verdict, reason, since_ms, evaluated_ms, events, error ratio, p95 ms,
                # last event ms], or the first four when the last four would be zeros
                counted = len(v) > 4 and v[4] > 0
                found[int(system_id)] = Recorded(
                    named[v[0]], v[1], int(v[2]), int(v[3]),
                    float(v[5]) if counted else None, float(v[6]) if counted else None,
                    int(v[7]) if len(v) > 7 and v[7] > 0 else None,
                )  # fmt: skip
        return found


_VERDICTS = {v.value: v for v in Verdict}  # a dict lookup: Verdict(...) costs ~1 µs
