"""Drain speed of one worker process: events/s applied from a pre-filled stream.

    .venv/bin/python -m bench.drain [--batches 300] [--batch-size 100] [--spread-s 60]

Starts its own Valkey (the embedded binary, no persistence), appends batches exactly as the API
does (one entry each, with `events_in`), then runs one burst worker in this process until the
stream is drained. Timestamps are spread over `--spread-s` seconds before now, latencies
lognormal, 5 % errors.
"""

import argparse
import time

from bench.scratch import fill, scratch_store
from shared.settings import Settings
from worker.consumer import Worker


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--spread-s", type=int, default=60)
    args = p.parse_args()
    with scratch_store() as (url, client):
        fill(client, args.batches, args.batch_size, args.spread_s * 1000)
        settings = Settings(redis_url=url, worker_block_ms=50)
        started = time.perf_counter()
        Worker(client, settings, burst=True).run()
        elapsed = time.perf_counter() - started
    events = args.batches * args.batch_size
    print(f"{events} events in {args.batches} batches drained in {elapsed:.2f} s: "
          f"{events / elapsed:,.0f} events/s (one worker)")  # fmt: skip


if __name__ == "__main__":
    main()
