"""The dead-letter streams: list what failed and why, and re-queue it once the cause is fixed."""

from collections.abc import Sequence

from shared.model.dead_letters import DeadLetter
from shared.settings import Settings
from shared.store import keys, scripts
from shared.store.client import AsyncRedis
from shared.store.keys import BatchEntry
from shared.store.keys import DeadLetterEntry as D
from shared.store.partitions import Partitions


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


class DeadLetters:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._client = client
        self._partitions = partitions
        self._replay = client.register_script(scripts.source(scripts.REPLAY))

    async def list(self, limit: int) -> list[DeadLetter]:
        """The oldest `limit` dead letters of every partition, oldest first."""
        pipe = self._client.pipeline(transaction=False)
        for p in range((await self._partitions.layout()).streams):
            pipe.xrange(keys.dead_letters(p), count=limit)
        found: list[DeadLetter] = []
        for p, entries in enumerate(await pipe.execute()):
            for entry_id, fields in entries:
                found.append(_dead_letter(p, _text(entry_id), fields))
        found.sort(key=lambda d: tuple(int(x) for x in d.id.split("-")))
        return found[:limit]

    async def replay(self, ids: Sequence[str] | None) -> int:
        """Re-queue the given dead letters (all when `ids` is None); returns how many moved."""
        total = 0
        for p in range((await self._partitions.layout()).streams):
            dead = keys.dead_letters(p)
            if ids is None:
                entries: list[tuple[bytes, object]] = await self._client.xrange(dead)  # type: ignore[assignment]
                chosen = [_text(entry_id) for entry_id, _ in entries]
            else:
                chosen = list(ids)
            for start in range(0, len(chosen), 500):
                call = scripts.replay(p, chosen[start : start + 500])
                total += int(await self._replay(keys=call.keys, args=call.args))
        return total


def _dead_letter(partition: int, entry_id: str, raw: dict[bytes, bytes]) -> DeadLetter:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    original = D.ORIGINAL_PREFIX
    system = fields.get(original + BatchEntry.SYSTEM_ID.decode(), "")
    events = fields.get(original + BatchEntry.EVENTS.decode(), "")
    return DeadLetter(
        id=entry_id,
        partition=partition,
        stream_id=fields.get(D.STREAM_ID, ""),
        error=fields.get(D.ERROR, ""),
        deliveries=int(fields.get(D.DELIVERIES, "0") or 0),
        system_id=int(system) if system.isdigit() else None,
        events=int(events) if events.isdigit() else None,
    )
