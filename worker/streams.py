"""Thin readers over the ingest streams of one consumer: read, claim, and trim.

Responses are normalised from redis-py's RESP3 shapes into lists of `Entry`.
"""

import logging
from collections.abc import Sequence
from typing import Any

import redis

from shared.store import keys
from shared.store.client import SyncRedis, is_cluster, text
from worker.applier import Entry

log = logging.getLogger("lso.worker")


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def ensure_groups(client: SyncRedis, partitions: int) -> None:
    """Create the consumer group on every stream, reading from the start (nothing is skipped)."""
    for p in range(partitions):
        try:
            client.xgroup_create(keys.stream(p), keys.GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def read(
    client: SyncRedis,
    consumer: str,
    partitions: int,
    count: int,
    block_ms: int | None,
    history: Sequence[str] | None = None,
    turn: int = 0,
) -> list[Entry]:
    """New entries, or with `history` (one id per partition) this consumer's own pending entries
    after those ids: what it held when it lost its connection. On a cluster an idle read blocks
    on partition `turn` mod `partitions` (callers pass a counter)."""
    streams = {keys.stream(p): (">" if history is None else history[p]) for p in range(partitions)}
    if not is_cluster(client):
        reply = client.xreadgroup(keys.GROUP, consumer, streams, count=count, block=block_ms)  # type: ignore[arg-type]
        return _entries(reply)
    # On a cluster one XREADGROUP reads streams of one hash slot only: read every partition without
    # blocking (one pipeline, batched per node), and when all are empty block on one of them, in
    # turn, for at most CLUSTER_BLOCK_MS: an idle worker polls, a busy one never waits.
    pipe = client.pipeline(transaction=False)
    for name, start in streams.items():
        pipe.xreadgroup(keys.GROUP, consumer, {name: start}, count=count)
    entries = [e for reply in pipe.execute() for e in _entries(reply)]
    if entries or not block_ms or history is not None:
        return entries
    name = keys.stream(turn % partitions)
    block = min(block_ms, CLUSTER_BLOCK_MS)
    reply = client.xreadgroup(keys.GROUP, consumer, {name: ">"}, count=count, block=block)
    return _entries(reply)


# How long an idle worker on a cluster waits on one partition before polling all of them again:
# the most a new entry of another partition waits while the worker is idle.
CLUSTER_BLOCK_MS = 20


def _entries(reply: Any) -> list[Entry]:
    entries = []
    items: Any = reply.items() if isinstance(reply, dict) else (reply or [])
    for stream_name, messages in items:
        partition = keys.partition_of_stream(text(stream_name))
        if isinstance(reply, dict) and messages and isinstance(messages[0], list):
            messages = messages[0]  # RESP3 nests the message list one level deeper than RESP2
        for message_id, fields in messages:
            if fields is not None:  # None: a pending entry whose stream entry was deleted
                entries.append(Entry(partition, text(message_id), fields))
    return entries


def claim(
    client: SyncRedis, consumer: str, partition: int, min_idle_ms: int, start: str, count: int
) -> tuple[str, list[Entry]]:
    """XAUTOCLAIM idle entries of dead or stuck consumers; returns (next cursor, entries)."""
    reply = client.xautoclaim(
        keys.stream(partition), keys.GROUP, consumer, min_idle_ms, start_id=start, count=count
    )
    cursor, messages = text(reply[0]), reply[1]
    deleted = reply[2] if len(reply) > 2 else []
    if deleted:
        log.error("%d pending entries of partition %d had been deleted", len(deleted), partition)
    entries = [
        Entry(partition, text(mid), fields) for mid, fields in messages if fields is not None
    ]
    return cursor, entries


def delivery_counts(client: SyncRedis, consumer: str, entries: list[Entry]) -> dict[str, int]:
    """How often each (claimed, hence now ours) entry has been delivered."""
    counts: dict[str, int] = {}
    by_partition: dict[int, list[Entry]] = {}
    for entry in entries:
        by_partition.setdefault(entry.partition, []).append(entry)
    for partition, group in by_partition.items():
        ids = sorted((e.entry_id for e in group), key=_id_tuple)
        rows = client.xpending_range(
            keys.stream(partition), keys.GROUP, ids[0], ids[-1], len(ids) * 2, consumer
        )
        for row in rows:
            counts[text(row["message_id"])] = int(row["times_delivered"])  # type: ignore[arg-type]
    return counts


def trim_acknowledged(client: SyncRedis, partition: int) -> int:
    """Remove entries every consumer has acknowledged; never a pending or undelivered one."""
    name = keys.stream(partition)
    groups = client.xinfo_groups(name)
    group = next((g for g in groups if text(g["name"]) == keys.GROUP), None)
    if group is None:
        return 0
    floor = text(group["last-delivered-id"])
    pending = client.xpending(name, keys.GROUP)
    if pending["pending"]:
        oldest = text(pending["min"])
        floor = min(floor, oldest, key=_id_tuple)
    if _id_tuple(floor) == (0, 0):
        return 0
    return int(client.xtrim(name, minid=floor, approximate=False))


def forget_idle_consumers(client: SyncRedis, partition: int, idle_ms: int) -> None:
    """Drop consumers (restarted workers) that own nothing and have been idle for long."""
    name = keys.stream(partition)
    for consumer in client.xinfo_consumers(name, keys.GROUP):
        if int(consumer["pending"]) == 0 and int(consumer["idle"]) > idle_ms:
            client.xgroup_delconsumer(name, keys.GROUP, str(text(consumer["name"])))
