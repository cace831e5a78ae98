"""The verdicts the jobs' evaluator recorded, for every system at once (the fleet overview).

The evaluator keeps each system's last verdict in one hash per partition (`keys.verdicts`,
written by transition.lua), so the overview of any fleet is one HGETALL per partition in one
pipeline instead of a health read per system. Each verdict says when it was evaluated; the
caller decides what is too old to trust (the jobs not running) and reads that system live.
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
                verdict, reason, since_ms, evaluated_ms = orjson.loads(value)
                found[int(system_id)] = Recorded(
                    named[verdict], reason, int(since_ms), int(evaluated_ms)
                )
        return found


_VERDICTS = {v.value: v for v in Verdict}  # a dict lookup: Verdict(...) costs ~1 µs
