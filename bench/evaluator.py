"""The evaluator's cost a system: CPU seconds of one pass over N dirty systems, in this process.

    .venv/bin/python -m bench.evaluator [--systems 3000] [--passes 3] [--profile]

Starts its own stack (bench/stack.py), registers N systems with a silence policy in bulk, sends
each one batch of 10 events (one an error) and waits for the workers to apply them. Then it
marks every system dirty and runs the jobs' evaluation pass (worker/jobs/evaluate.py) in this
process, `--passes` times, and prints the CPU time (user + system) and wall time of each, per
system. `--profile` adds a cProfile of one more pass, by own time. The first pass writes every
verdict; the others find them unchanged, as most passes of a steady fleet do.
"""

import argparse
import cProfile
import os
import pstats
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import redis

from bench.stack import Stack
from shared.store import keys

BULK_MAX = 1000


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fleet(stack: Stack, systems: int) -> list[int]:
    policy = {"expected_interval_seconds": 30, "grace_seconds": 10}
    ids: list[int] = []
    for first in range(0, systems, BULK_MAX):
        wanted = [{"name": f"evaluator/{i:05d}", "policy": policy}
                  for i in range(first, min(systems, first + BULK_MAX))]  # fmt: skip
        status, body = stack.request("POST", "/systems/bulk", {"systems": wanted}, timeout_s=120)
        assert status == 200, (status, body)
        ids += [s["system_id"] for s in body["systems"]]
    now = datetime.now(UTC).isoformat()
    for sid in ids:
        events = [{"event_type": "load", "ts": now, "latency_ms": 12.0 + i,
                   "status": "error" if i == 0 else "ok"} for i in range(10)]  # fmt: skip
        status, body = stack.request("POST", f"/systems/{sid}/events", {"events": events})
        assert status == 202, (status, body)
    stack.drain(120)
    return ids


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.evaluator", description=__doc__.split("\n")[0]
    )
    p.add_argument("--systems", type=int, default=3000)
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    opts = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Stack(Path(tmp), Path(tmp) / "logs") as stack:
        ids = _fleet(stack, opts.systems)
        os.environ.update(stack.env)  # the jobs' settings: this stack's store
        from shared.settings import get_settings
        from worker.jobs import context, evaluate

        settings = get_settings()
        store = redis.Redis.from_url(settings.redis_url)

        def one_pass() -> tuple[int, float, float]:
            store.zadd(keys.dirty(0), {str(sid): 1 for sid in ids})
            wall, cpu = time.perf_counter(), _cpu_s()
            _, evaluated, _ = context.run(lambda c: evaluate._evaluate(c, settings, False))
            return evaluated, time.perf_counter() - wall, _cpu_s() - cpu

        for n in range(opts.passes):
            evaluated, wall_s, cpu_s = one_pass()
            print(f"pass {n + 1}: {evaluated} systems, wall {wall_s:.2f} s, CPU {cpu_s:.2f} s, "
                  f"{cpu_s / evaluated * 1e6:.0f} µs CPU a system")  # fmt: skip
        if opts.profile:
            profile = cProfile.Profile()
            profile.enable()
            one_pass()
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
