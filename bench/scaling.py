"""Drain scaling: events/s applied by 1, 2 and 4 `lso worker` processes, on one Valkey server and
on a 3-master Valkey cluster (lso/cluster.py), from the same pre-filled backlog.

    .venv/bin/python -m bench.scaling [--events 300000] [--systems 24] [--workers 1,2,4] [--runs 3]
                                      [--plain]

Each round appends `--events` events (100 per batch, one stream entry per batch, as the API does)
for `--systems` systems spread over LSO_PARTITIONS=12 partitions, then starts the workers and
times from the first applied entry until every partition's `events_out` equals its `events_in`.
Events are realistic (bench/scratch.py `fill`: stages, run ids, payloads, ids on half);
`--plain` sends one stage, no run, no id, no payload (this benchmark's events before issue 18).
"store µs/event" is the apply path's command time (EVALSHA + XREADGROUP, INFO commandstats, all
nodes; bench/store_cost.py) per event applied, "store CPU µs/event" the main threads' CPU: one
store core saturates near 1e6 / that many events/s.
Everything (store nodes, workers, this process) shares the machine's cores.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import redis.cluster

from bench.procs import spawn, stop
from bench.scratch import fill
from bench.store_cost import per_event, store_time
from lso.cluster import EmbeddedCluster
from lso.embedded import EmbeddedValkey
from shared.store import keys, layout

PARTITIONS = 12
BATCH = 100
Client = redis.Redis | redis.cluster.RedisCluster


@contextmanager
def store(kind: str, work_dir: Path) -> Iterator[tuple[dict[str, str], Client]]:
    """(env for `lso worker`, client) of a fresh single server or 3-master cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSO_")}
    env.update(LSO_PARTITIONS=str(PARTITIONS), LSO_LOG_LEVEL="WARNING")
    server: EmbeddedValkey | EmbeddedCluster
    client: Client
    if kind == "cluster":
        server = EmbeddedCluster(work_dir / "cluster", masters=3)
        env.update(LSO_REDIS_URL=server.start(env), LSO_REDIS_CLUSTER="1")
        client = redis.cluster.RedisCluster.from_url(env["LSO_REDIS_URL"], protocol=3)
    else:
        server = EmbeddedValkey(work_dir / "single")
        env.update(LSO_REDIS_URL=server.start(env))
        client = redis.Redis.from_url(env["LSO_REDIS_URL"], protocol=3)
    try:
        yield env, client
    finally:
        client.close()
        server.stop()


def counts(client: Client) -> tuple[int, int]:
    """(events_in, events_out) over every partition."""
    total_in = total_out = 0
    for p in range(PARTITIONS):
        stats: dict[bytes, bytes] = client.hgetall(keys.partition_stats(p))  # type: ignore[assignment]
        total_in += int(stats.get(b"events_in", 0))
        total_out += int(stats.get(b"events_out", 0))
    return total_in, total_out


def round_events_s(
    env: dict[str, str], client: Client, workers: int, args: argparse.Namespace
) -> tuple[float, dict[str, float]]:
    """(events/s drained, the store's time per event while draining)."""
    batches_per_system = args.events // BATCH // args.systems
    for sid in range(1, args.systems + 1):
        fill(client, batches_per_system, BATCH, 60_000, system_id=sid, partition=sid % PARTITIONS,
             realistic=not args.plain)  # fmt: skip
    target, first_out = counts(client)
    busy_before = store_time(client)
    argv = [sys.executable, "-m", "lso.cli", "worker"]
    procs = [spawn(argv, env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
    try:
        deadline = time.monotonic() + args.timeout_s
        while counts(client)[1] == first_out:
            if time.monotonic() > deadline:
                raise SystemExit("the workers applied nothing")
            time.sleep(0.002)
        start = time.monotonic()
        while (done := counts(client)[1]) < target:
            if time.monotonic() > deadline:
                raise SystemExit(f"not drained in {args.timeout_s} s")
            time.sleep(0.01)
        elapsed = time.monotonic() - start
    finally:
        for proc in procs:
            stop(proc, "worker", 15.0)
    applied = done - first_out
    return applied / elapsed, per_event(busy_before, store_time(client), applied)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=300_000, help="events per round")
    p.add_argument("--systems", type=int, default=24)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--stores", default="single,cluster")
    p.add_argument("--timeout-s", type=float, default=300.0)
    p.add_argument("--runs", type=int, default=3, help="rounds per cell; the median is shown")
    p.add_argument("--plain", action="store_true", help="plain events, not realistic ones")
    args = p.parse_args()
    counts_of_workers = [int(w) for w in args.workers.split(",")]
    print(f"machine: {os.cpu_count()} cores; {args.events} events per round, "
          f"{args.systems} systems, {PARTITIONS} partitions")  # fmt: skip
    print("| store | workers | events/s (median) | min–max | per worker | store µs/event "
          "| store CPU µs/event |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            with store(kind, Path(tmp)) as (env, client):
                layout.load_sync(client, PARTITIONS)
                for workers in counts_of_workers:
                    rounds = [round_events_s(env, client, workers, args) for _ in range(args.runs)]
                    rates = sorted(r for r, _ in rounds)
                    rate = statistics.median(rates)
                    usec = statistics.median(u["store_us_per_event"] for _, u in rounds)
                    cpu = statistics.median(u["store_cpu_us_per_event"] for _, u in rounds)
                    label = "1 server" if kind == "single" else "3-master cluster"
                    spread = f"{rates[0]:,.0f}–{rates[-1]:,.0f}"
                    print(f"| {label} | {workers} | {rate:,.0f} | {spread} | {rate / workers:,.0f} "
                          f"| {usec:.2f} | {cpu:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
