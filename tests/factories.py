"""Builders of events and stream entries for the tests."""

import time
from typing import Any

import orjson
import redis

from shared.model.codec import encode_batch
from shared.model.time_slots import COUNT_FIELD, ERRORS_FIELD, parse_field
from shared.store import keys


def now_ms() -> int:
    return int(time.time() * 1000)


def row(
    ts_ms: int | None = None,
    *,
    error: bool = False,
    latency_ms: float = 10.0,
    event_id: str | None = None,
    stage: str | None = "extract",
) -> list[Any]:
    return [ts_ms or now_ms(), int(error), latency_ms, "step", stage, "run-1", event_id, None]


def append(client: redis.Redis, system_id: int, rows: list[list[Any]], partitions: int = 1) -> str:
    """Append one batch the way the API does (entry + events_in in one MULTI)."""
    partition = keys.partition_of(system_id, partitions)
    pipe = client.pipeline(transaction=True)
    pipe.xadd(keys.stream(partition), encode_batch(system_id, rows))  # type: ignore[arg-type]
    pipe.hincrby(keys.partition_stats(partition), "events_in", len(rows))
    entry_id, _ = pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


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


def raw_rows(client: redis.Redis, system_id: int, partition: int = 0) -> list[list[Any]]:
    """Every raw event row the store keeps for the system (members hold one batch's rows)."""
    rows: list[list[Any]] = []
    for member in client.zrange(keys.raw_events(partition, system_id), 0, -1):
        rows += orjson.loads(member)[1]
    return rows
