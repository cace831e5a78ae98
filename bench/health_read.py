"""Health-read latency against the number of events in the window and the window length.

    .venv/bin/python -m bench.health_read [--runs 3] [--duration 10]

Starts its own stack (bench/stack.py), prefills counters, then measures GET /systems/{id}/health
with wrk: one connection (p50/p99) and 16 connections (reads/s), median over runs, for a 5-minute
and a 24-hour window holding 10^3 or 10^7 events.

Prefill: the counters are written directly (HSET), field for field what the worker's apply script
writes for events with the same per-second latency histogram (1 % errors, ~lognormal latencies),
for every container a read during the benchmark can touch: the coarse levels (1 min, 10 min, 1 h
slots) over the whole window, the fine levels (1 s, 10 s) within 20 minutes of both window edges.
Writing 10^7 events through the API would take longer than the benchmark and measure ingest, not
reads; the read path, which is what is measured, sees the same keys and fields.
"""

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

from bench import wrk
from bench.stack import Stack
from shared.model.sketch import bucket_of
from shared.model.time_slots import (
    COUNT_FIELD,
    ERRORS_FIELD,
    HISTOGRAM_FIELD,
    HISTOGRAM_LEVEL,
    LEVELS,
    container_start,
    counter_field,
    pack_histogram,
    slot_index,
)
from shared.store import keys

EDGE_S = 1200
SCENARIOS = [("5 min", 300, 10**3), ("5 min", 300, 10**7), ("24 h", 86_400, 10**3),
             ("24 h", 86_400, 10**7)]  # fmt: skip


def per_second_histogram(events_per_s: float, rng: random.Random) -> Counter[str]:
    """Expected bucket counts of one second (largest remainder rounding, at least one event)."""
    sample = Counter(bucket_of(rng.lognormvariate(3.5, 1.0)) for _ in range(50_000))
    share = {b: n / 50_000 * events_per_s for b, n in sample.items()}
    counts = Counter({b: int(x) for b, x in share.items()})
    missing = max(1, round(events_per_s)) - sum(counts.values())
    for b, _ in sorted(share.items(), key=lambda bx: bx[1] - int(bx[1]), reverse=True)[:missing]:
        counts[b] += 1
    return +counts


def prefill(store: redis.Redis, system_id: int, window_s: int, events: int, now_s: int) -> int:
    # Below one event per second, events fall on every `every`-th second only.
    every = max(1, round(window_s / events))
    hist = per_second_histogram(events * every / window_s, random.Random(window_s))
    errors_per_s = sum(hist.values()) / 100

    def event_seconds(a: int, b: int) -> int:
        return (b - 1) // every - (a - 1) // every

    start, end = now_s - window_s - 60, now_s + 600
    fine_ranges = [(start - EDGE_S, start + EDGE_S), (now_s - EDGE_S, end)]
    pipe = store.pipeline(transaction=False)
    written = 0
    for level in LEVELS:
        ranges = fine_ranges if level.slot_s < 60 else [(start, end)]
        for lo, hi in ranges:
            for c in range(container_start(level, lo), hi, level.container_s):
                fields: dict[str, int | bytes] = {}
                for slot_start in range(c, c + level.container_s, level.slot_s):
                    secs = event_seconds(
                        max(slot_start, start), min(slot_start + level.slot_s, end)
                    )
                    if secs <= 0:
                        continue
                    slot = slot_index(level, slot_start)
                    if level.slot_s >= LEVELS[HISTOGRAM_LEVEL].slot_s:
                        scaled = {b: n * secs for b, n in hist.items()}
                        fields[counter_field(slot, HISTOGRAM_FIELD)] = pack_histogram(scaled)
                    fields[counter_field(slot, COUNT_FIELD)] = sum(hist.values()) * secs
                    fields[counter_field(slot, ERRORS_FIELD)] = math.ceil(errors_per_s * secs)
                if fields:
                    pipe.hset(keys.counters(0, system_id, level.container_s, c), mapping=fields)
                    written += len(fields)
        pipe.execute()
    pipe.hset(keys.system_meta(0, system_id), "last_ts", now_s * 1000)
    pipe.execute()
    return written


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0)
    args = p.parse_args()
    wrk_bin = wrk.find_wrk()
    results: dict[str, dict[str, list[float]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="lso-bench-") as tmp,
        Stack(Path(tmp), Path(tmp) / "logs") as stack,
    ):
        store = redis.Redis.from_url(stack.valkey.url)
        now_s = int(time.time())
        ids = {}
        for name, window_s, events in SCENARIOS:
            sid = stack.register(f"bench-{window_s}-{events}")
            fields = prefill(store, sid, window_s, events, now_s)
            total = stack.health(sid, window_s)["total"]
            print(f"prefilled {name} / {events:.0e} events: {fields} fields, health total {total}")
            ids[(name, events)] = (sid, window_s)
        for _ in range(args.runs):
            for (name, events), (sid, window_s) in ids.items():
                url = f"{stack.base_url}/systems/{sid}/health?window_seconds={window_s}"
                one = wrk.run(wrk_bin, url, method="GET", body_file=None,
                              duration_s=args.duration, connections=1, threads=1)  # fmt: skip
                many = wrk.run(wrk_bin, url, method="GET", body_file=None,
                               duration_s=args.duration, connections=16, threads=1)  # fmt: skip
                assert one.non2xx == 0 and many.non2xx == 0
                r = results.setdefault(f"{name}, {events:.0e} events", {})
                r.setdefault("p50", []).append(one.latency_ms["p50"])
                r.setdefault("p99", []).append(one.latency_ms["p99"])
                r.setdefault("reads_per_s_16", []).append(many.requests_per_s)
    print("\n| Window, events in it | p50 ms (1 conn) | p99 ms (1 conn) | reads/s (16 conns) |")
    print("|---|--:|--:|--:|")
    med = {k: {m: statistics.median(v) for m, v in r.items()} for k, r in results.items()}
    for k, m in med.items():
        print(f"| {k} | {m['p50']:.2f} | {m['p99']:.2f} | {m['reads_per_s_16']:.0f} |")
    r24, r5 = med["24 h, 1e+07 events"], med["5 min, 1e+07 events"]
    print(f"\n24 h / 5 min (10^7 events), p50: {r24['p50'] / r5['p50']:.2f}, "
          f"p99: {r24['p99'] / r5['p99']:.2f}")  # fmt: skip
    small = med["5 min, 1e+03 events"]
    print(f"10^7 / 10^3 events (5 min), p50: {r5['p50'] / small['p50']:.2f}")
    print(json.dumps(med))


if __name__ == "__main__":
    main()
