"""Retention and purges (rq jobs).

The apply already trims a system's raw events and runs on every write, and every counter
container and marker carries its own expiry; retention catches what no write touches any more
(a silent system's raw events, idle runs) and trims acknowledged stream entries in case no worker
runs. A purge removes every key of a deleted system; its tombstone stays, so stream entries still
in flight are dropped by the apply instead of recreating data.
"""

import logging
from collections.abc import Iterator

from shared.store import keys, layout
from shared.store.client import SyncRedis
from worker import streams
from worker.jobs import context

log = logging.getLogger("lso.jobs")

DELETE_BATCH = 500


def retention() -> dict[str, int]:
    s = context.settings()
    client = context.client()
    current = layout.load_sync(client, s.partitions)
    now_ms = context.now_ms()
    raw_cutoff = now_ms - s.raw_retention_s * 1000
    runs_cutoff = now_ms - s.counter_retention_s * 1000
    removed = trimmed = 0
    docs: list[bytes] = client.hkeys(keys.REGISTRY_SYSTEMS)  # type: ignore[assignment]
    for raw_sid in docs:
        system_id = int(raw_sid)
        p = current.partition_of(system_id)
        if p is None:
            continue
        pipe = client.pipeline(transaction=False)
        # A raw chunk is scored by its start and spans 10 s: whole chunks older than the cutoff.
        pipe.zremrangebyscore(keys.raw_events(p, system_id), "-inf", f"({raw_cutoff - 10_000}")
        pipe.zremrangebyscore(keys.runs(p, system_id), "-inf", f"({runs_cutoff}")
        removed += sum(int(n) for n in pipe.execute())
    for p in range(current.streams):
        if client.exists(keys.stream(p)):  # no stream yet: nothing to trim (and no group)
            trimmed += streams.trim_acknowledged(client, p)
    log.info("retention: %d old raw chunks and runs removed, %d stream entries trimmed",
             removed, trimmed)  # fmt: skip
    return {"removed": removed, "trimmed": trimmed}


def purge(partition: int, system_id: int) -> int:
    """Delete every key of a deleted system; returns how many."""
    client = context.client()
    deleted = 0
    single = keys.system_keys(partition, system_id)
    for batch in _batches([*single, *_matching(client, partition, system_id)]):
        deleted += int(client.delete(*batch))
    pipe = client.pipeline(transaction=False)
    for key in keys.system_members(partition):
        pipe.zrem(key, str(system_id))
    for key in keys.system_fields(partition):
        pipe.hdel(key, str(system_id))
    pipe.execute()
    log.info("purged system %d: %d keys", system_id, deleted)
    return deleted


def _matching(client: SyncRedis, partition: int, system_id: int) -> Iterator[str]:
    for pattern in keys.system_patterns(partition, system_id):
        for key in client.scan_iter(match=pattern, count=1000):
            yield key.decode() if isinstance(key, bytes) else str(key)


def _batches(items: Iterator[str] | list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == DELETE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
