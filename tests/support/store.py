"""The store as the tests see it: batches appended as the API appends them, and what the workers
made of them (counter totals, raw rows, the backlog)."""

from typing import Any

import orjson
import redis

from shared.model.codec import encode_batch
from shared.model.time_slots import COUNT_FIELD, ERRORS_FIELD, parse_field
from shared.settings import Settings
from shared.store import keys, layout, scripts
from shared.store.client import SyncRedis
from tests.support.events import now_ms, row

NO_BACKLOG_LIMIT = 10**12  # events: far above what any test appends


def append(client: SyncRedis, system_id: int, rows: list[list[Any]], partitions: int = 1) -> str:
    """Append one batch through the API's own script (shared/store/lua/ingest.lua: the entry and
    events_in together), with no rate limit and no backlog limit in the way; its entry id."""
    partition = keys.partition_of(system_id, partitions)
    entry = encode_batch(system_id, rows)
    call = scripts.ingest(partition, system_id, entry, len(rows), 0.0, 1.0, NO_BACKLOG_LIMIT)
    ingest = client.register_script(scripts.source(scripts.INGEST))
    status, value = ingest(keys=call.keys, args=call.args)
    assert status == scripts.IngestStatus.APPENDED, (status, value)
    return value.decode() if isinstance(value, bytes) else str(value)


def fill(client: redis.Redis, systems: int, batches: int, size: int) -> dict[int, tuple[int, int]]:
    """Append `batches` batches of `size` events (every 7th an error) per system; the totals."""
    expected: dict[int, tuple[int, int]] = {}
    ts = now_ms()
    for sid in range(1, systems + 1):
        errors = 0
        for b in range(batches):
            rows = [row(ts - i, error=(b * size + i) % 7 == 0) for i in range(size)]
            errors += sum(r[1] for r in rows)
            append(client, sid, rows)
        expected[sid] = (batches * size, errors)
    return expected


def totals(client: redis.Redis, system_id: int, partitions: int = 1) -> tuple[int, int]:
    """(events, errors) summed over the system's 1-hour slots, i.e. all counters."""
    p = keys.partition_of(system_id, partitions)
    events = errors = 0
    for key in client.scan_iter(keys.counters(p, system_id, 86_400, 0).rsplit(":", 1)[0] + ":*"):
        for field, value in client.hgetall(key).items():
            bucket = parse_field(field.decode())[1]
            if bucket == ERRORS_FIELD:
                errors += int(value)
            elif bucket == COUNT_FIELD:
                events += int(value)
    return events, errors


def raw_rows(client: SyncRedis, system_id: int, partition: int = 0) -> list[list[Any]]:
    """Every raw event row the store keeps for the system (members hold one batch's rows)."""
    rows: list[list[Any]] = []
    members: list[bytes] = client.zrange(keys.raw_events(partition, system_id), 0, -1)  # type: ignore[assignment]
    for member in members:
        rows += orjson.loads(member)[1]
    return rows


def backlog(client: SyncRedis, partition: int = 0) -> int:
    """Events appended to the partition's stream and not yet applied."""
    stats: dict[bytes, bytes] = client.hgetall(keys.partition_stats(partition))  # type: ignore[assignment]
    return int(stats.get(b"events_in", 0)) - int(stats.get(b"events_out", 0))


def partition(client: redis.Redis, system_id: int) -> int:
    """The partition of a registered system (shared/store/layout.py)."""
    found = layout.load_sync(client, Settings().partitions).partition_of(system_id)
    assert found is not None, f"system {system_id} is not registered"
    return found


def stream_entries(client: redis.Redis) -> int:
    """Entries in every ingest stream."""
    streams = layout.load_sync(client, Settings().partitions).streams
    return sum(int(client.xlen(keys.stream(p))) for p in range(streams))
