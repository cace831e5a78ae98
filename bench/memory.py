"""Bytes the store spends per event: waiting in the stream, kept as a raw event, and in counters.

    .venv/bin/python -m bench.memory [--batches 1000] [--batch-size 100]

Starts its own Valkey (the embedded binary, no persistence), appends batches exactly as the API
does, measures INFO used_memory, drains them with a real worker, measures again.
"""

import argparse

import redis

from bench.report import memory_line
from bench.scratch import fill, scratch_store
from shared.settings import Settings
from shared.store import keys
from worker.consumer import Worker


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=100)
    args = p.parse_args()
    with scratch_store() as (url, client):
        print(memory_line(measure(url, client, args.batches, args.batch_size)))


def measure(url: str, client: redis.Redis, batches: int, size: int) -> dict[str, float]:
    """Store bytes per waiting event, per raw event, and of counters per system-hour."""
    events = batches * size

    def used() -> int:
        return int(client.info("memory")["used_memory"])

    base = used()
    # A typical batch: a burst (events within 2 s), a run id, a payload of ~30 bytes.
    fill(client, batches, size, 3_000_000, run_id="run-2026-11-28", burst_ms=2000,
         payload={"table": "orders", "rows": 1250})  # fmt: skip
    in_stream = used() - base
    Worker(client, Settings(redis_url=url, worker_block_ms=50), burst=True).run()
    raw = client.memory_usage(keys.raw_events(0, 1), samples=0) or 0
    containers = list(client.scan_iter(keys.counters(0, 1, 10, 0).split(":c:")[0] + ":c:*"))
    counters = sum(client.memory_usage(k, samples=0) or 0 for k in containers)
    return {
        "events": events,
        "stream_bytes_per_event": in_stream / events,
        "raw_bytes_per_event": raw / events,
        "counter_mb_per_system_hour": counters / 1e6 * 60 / 50,
        "events_per_s_of_that_hour": events / 3000,
    }


if __name__ == "__main__":
    main()
