"""Drain speed of one worker process: events/s applied from a pre-filled stream.

    .venv/bin/python -m bench.drain [--batches 300] [--batch-size 100] [--spread-s 60] [--plain]

Starts its own Valkey (the embedded binary, no persistence), appends batches exactly as the API
does (one entry each, with `events_in`), then runs one burst worker in this process until the
stream is drained. Timestamps are spread over `--spread-s` seconds before now, latencies
lognormal, 5 % errors; realistic events (bench/scratch.py `fill`: stages, run ids, payloads, ids
on half) unless `--plain`. Prints the store's time per event too (bench/store_cost.py).
"""

import argparse
import time

from bench.scratch import fill, scratch_store
from bench.store_cost import per_event, store_time
from shared.settings import Settings
from worker.consumer import Worker, quiet_collector


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--spread-s", type=int, default=60)
    p.add_argument("--plain", action="store_true", help="plain events, not realistic ones")
    args = p.parse_args()
    events = args.batches * args.batch_size
    with scratch_store() as (url, client):
        fill(client, args.batches, args.batch_size, args.spread_s * 1000, realistic=not args.plain)
        settings = Settings(redis_url=url, worker_block_ms=50)
        quiet_collector()  # as `lso worker` does
        before = store_time(client)
        started = time.perf_counter()
        Worker(client, settings, burst=True).run()
        elapsed = time.perf_counter() - started
        store = per_event(before, store_time(client), events)
    print(f"{events} events in {args.batches} batches drained in {elapsed:.2f} s: "
          f"{events / elapsed:,.0f} events/s (one worker); the store: "
          f"{store['store_us_per_event']:.2f} µs of commands, "
          f"{store['store_cpu_us_per_event']:.2f} µs of CPU per event")  # fmt: skip


if __name__ == "__main__":
    main()
