"""Bytes the store spends per event: waiting in the stream, kept as a raw event, and in counters.

    .venv/bin/python -m bench.memory [--batches 1000] [--batch-size 100]

Starts its own Valkey (the embedded binary, no persistence), appends batches exactly as the API
does, measures INFO used_memory, drains them with a real worker, measures again.
"""

import argparse
import random
import subprocess
import tempfile
import time

import redis

from lso.embedded import binary_path, free_port
from shared import keys
from shared.codec import encode_batch
from shared.settings import Settings
from worker.consumer import Worker


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=100)
    args = p.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = subprocess.Popen(
            [str(binary_path()), "--port", str(port), "--save", "", "--dir", data_dir],
            stdout=subprocess.DEVNULL,
        )
        try:
            measure(f"redis://127.0.0.1:{port}/0", args.batches, args.batch_size)
        finally:
            server.terminate()
            server.wait(10)


def measure(url: str, batches: int, size: int) -> None:
    client = redis.Redis.from_url(url, protocol=3)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    rng = random.Random(1)
    now_ms = int(time.time() * 1000)
    events = batches * size

    def used() -> int:
        return int(client.info("memory")["used_memory"])

    base = used()
    for _ in range(batches):
        rows = [
            [now_ms - rng.randrange(3_000_000), int(rng.random() < 0.05),
             round(rng.lognormvariate(3, 1), 2), "load", "transform", "run-2026-11-28", None, None]
            for _ in range(size)
        ]  # fmt: skip
        pipe = client.pipeline(transaction=True)
        pipe.xadd(keys.stream(0), encode_batch(1, rows))  # type: ignore[arg-type]
        pipe.hincrby(keys.partition_stats(0), "events_in", size)
        pipe.execute()
    in_stream = used() - base
    Worker(client, Settings(redis_url=url, worker_block_ms=50), burst=True).run()
    raw = client.memory_usage(keys.raw_events(0, 1)) or 0
    containers = list(client.scan_iter(keys.counters(0, 1, 10, 0).split(":c:")[0] + ":c:*"))
    counters = sum(client.memory_usage(k) or 0 for k in containers)
    print(f"events: {events} in {batches} batches, ts spread over 50 min, ~50 latency buckets")
    print(f"stream, waiting:     {in_stream / events:8.1f} bytes/event")
    print(f"raw sorted set:      {raw / events:8.1f} bytes/event")
    per_hour_mb = counters / 1e6 * 60 / 50
    print(f"counters:            {counters / 1e6:8.2f} MB in {len(containers)} containers")
    print(
        f"                     = {per_hour_mb:.2f} MB per system-hour at {events / 3000:.0f} ev/s"
    )


if __name__ == "__main__":
    main()
