"""Drain speed of one worker process: events/s applied from a pre-filled stream.

    .venv/bin/python -m bench.drain [--batches 300] [--batch-size 100] [--spread-s 60]

Starts its own Valkey (the embedded binary, no persistence), appends batches exactly as the API
does (one entry each, with `events_in`), then runs one burst worker in this process until the
stream is drained. Timestamps are spread over `--spread-s` seconds before now, latencies
lognormal, 5 % errors.
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
    p.add_argument("--batches", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--spread-s", type=int, default=60)
    args = p.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = subprocess.Popen(
            [str(binary_path()), "--port", str(port), "--save", "", "--dir", data_dir],
            stdout=subprocess.DEVNULL,
        )
        try:
            url = f"redis://127.0.0.1:{port}/0"
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
            fill(client, args.batches, args.batch_size, args.spread_s)
            settings = Settings(redis_url=url, worker_block_ms=50)
            started = time.perf_counter()
            Worker(client, settings, burst=True).run()
            elapsed = time.perf_counter() - started
            events = args.batches * args.batch_size
            print(f"{events} events in {args.batches} batches drained in {elapsed:.2f} s: "
                  f"{events / elapsed:,.0f} events/s (one worker)")  # fmt: skip
        finally:
            server.terminate()
            server.wait(10)


def fill(client: redis.Redis, batches: int, size: int, spread_s: int) -> None:
    rng = random.Random(1)
    now_ms = int(time.time() * 1000)
    for _ in range(batches):
        rows = [
            [now_ms - rng.randrange(spread_s * 1000 + 1), int(rng.random() < 0.05),
             round(rng.lognormvariate(3, 1), 2), "load", "transform", None, None, None]
            for _ in range(size)
        ]  # fmt: skip
        pipe = client.pipeline(transaction=True)
        pipe.xadd(keys.stream(0), encode_batch(1, rows))  # type: ignore[arg-type]
        pipe.hincrby(keys.partition_stats(0), "events_in", size)
        pipe.execute()


if __name__ == "__main__":
    main()
