"""Drain scaling: events/s applied by 1, 2 and 4 `lso worker` processes, on one Valkey server and
on a 3-master Valkey cluster (lso/cluster.py), from the same pre-filled backlog.

    .venv/bin/python -m bench.scaling [--events 300000] [--systems 24] [--workers 1,2,4] [--runs 3]

Each round appends `--events` events (100 per batch, one stream entry per batch, as the API does)
for `--systems` systems spread over LSO_PARTITIONS=12 partitions, then starts the workers and
times from the first applied entry until every partition's `events_out` equals its `events_in`.
"store µs/event" is the time the store spent executing commands (INFO commandstats, all nodes)
per event applied: one store core saturates near 1e6 / that many events/s.
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


def store_usec(client: Client) -> int:
    """Time the store (every node) has spent executing commands, in µs (INFO commandstats)."""
    if isinstance(client, redis.cluster.RedisCluster):
        found = client.get_nodes()  # type: ignore[no-untyped-call]
        nodes = [n.redis_connection for n in found if n.redis_connection is not None]
    else:
        nodes = [client]
    total = 0
    for node in nodes:
        stats: dict[str, dict[str, float]] = node.info("commandstats")
        total += int(sum(s.get("usec", 0) for s in stats.values()))
    return total


def round_events_s(
    env: dict[str, str], client: Client, workers: int, args: argparse.Namespace
) -> tuple[float, float]:
    """(events/s drained, store µs per event while draining)."""
    batches_per_system = args.events // BATCH // args.systems
    for sid in range(1, args.systems + 1):
        fill(client, batches_per_system, BATCH, 60_000, system_id=sid, partition=sid % PARTITIONS)
    target, first_out = counts(client)
    busy_before = store_usec(client)
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
    return applied / elapsed, (store_usec(client) - busy_before) / applied


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=300_000, help="events per round")
    p.add_argument("--systems", type=int, default=24)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--stores", default="single,cluster")
    p.add_argument("--timeout-s", type=float, default=300.0)
    p.add_argument("--runs", type=int, default=3, help="rounds per cell; the median is shown")
    args = p.parse_args()
    counts_of_workers = [int(w) for w in args.workers.split(",")]
    print(f"machine: {os.cpu_count()} cores; {args.events} events per round, "
          f"{args.systems} systems, {PARTITIONS} partitions")  # fmt: skip
    print("| store | workers | events/s (median) | min–max | per worker | store µs/event |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            with store(kind, Path(tmp)) as (env, client):
                layout.load_sync(client, PARTITIONS)
                for workers in counts_of_workers:
                    rounds = [round_events_s(env, client, workers, args) for _ in range(args.runs)]
                    rates = sorted(r for r, _ in rounds)
                    rate = statistics.median(rates)
                    usec = statistics.median(u for _, u in rounds)
                    label = "1 server" if kind == "single" else "3-master cluster"
                    print(f"| {label} | {workers} | {rate:,.0f} | {rates[0]:,.0f}–{rates[-1]:,.0f} "
                          f"| {rate / workers:,.0f} | {usec:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
