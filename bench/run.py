"""Benchmark ingest and health reads of a real LSO stack with wrk.

    .venv/bin/python -m bench.run [--quick] [--runs 3] [--out bench/results]

See bench/README.md for what is measured and how to read the results.
"""

import argparse
import json
import signal
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import report, wrk
from bench.logs import scan_logs
from bench.stack import Stack, StackError

SIZES = (1, 10, 100, 1000)
EVENT_TYPES = ("extract", "transform", "load", "publish")
ACCOUNTING_WINDOW_S = 86_400
# uvicorn re-raises SIGTERM after a graceful shutdown, so the API then dies "by" the signal.
_CLEAN_EXITS = (0, -signal.SIGTERM)


@dataclass(frozen=True)
class Options:
    runs: int
    duration_s: float
    connections: int
    threads: int
    drain_timeout_s: float
    out: Path


def event_batch(n: int, now: datetime) -> bytes:
    """A valid batch of `n` events stamped `now` (2 % errors, latencies 5-55 ms)."""
    ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    events = [
        {
            "ts": ts,
            "event_type": EVENT_TYPES[i % len(EVENT_TYPES)],
            "status": "error" if i % 50 == 49 else "ok",
            "latency_ms": round(5 + (i * 37 % 500) / 10, 1),
        }
        for i in range(n)
    ]
    return json.dumps({"events": events}, separators=(",", ":")).encode()


class Bench:
    def __init__(self, stack: Stack, wrk_path: str, opts: Options, work_dir: Path) -> None:
        self.stack = stack
        self.wrk_path = wrk_path
        self.opts = opts
        self.work_dir = work_dir
        self.problems: list[str] = []

    def _wrk(
        self, path: str, method: str, body: Path | None, conns: int, duration_s: float
    ) -> wrk.WrkResult:
        result = wrk.run(
            self.wrk_path,
            self.stack.base_url + path,
            method=method,
            body_file=body,
            duration_s=duration_s,
            connections=conns,
            threads=self.opts.threads,
        )
        self.stack.check_alive()
        return result

    def _row(self, kind: str, n: int | None, conns: int, res: wrk.WrkResult) -> dict[str, Any]:
        label = f"{kind} (N={n}, {conns} conns)" if n else f"{kind} ({conns} conns)"
        if res.non2xx:
            self.problems.append(
                f"{label}: {res.non2xx} non-2xx responses {res.non2xx_codes}; first: "
                f"{res.non2xx_sample!r}"
            )
        sockets = res.error_count - res.non2xx
        if sockets:
            self.problems.append(f"{label}: socket errors {res.socket_errors}")
        return {
            "kind": kind,
            "events_per_request": n,
            "conns": conns,
            "req_s": res.requests_per_s,
            "events_s": res.ok_requests * n / res.duration_s if n else None,
            "p50_ms": res.latency_ms["p50"],
            "p99_ms": res.latency_ms["p99"],
            "requests": res.requests,
            "non2xx": res.non2xx,
            "socket_errors": sockets,
            "wrk": res.as_dict(),
        }

    def ingest(self, system_id: int, n: int, duration_s: float) -> dict[str, Any]:
        body = self.work_dir / f"batch-{n}.json"
        body.write_bytes(event_batch(n, datetime.now(UTC)))
        conns = self.opts.connections
        res = self._wrk(f"/systems/{system_id}/events", "POST", body, conns, duration_s)
        events_in, events_out = self.stack.counts()
        row = self._row("ingest", n, conns, res)
        row["backlog_at_end"] = events_in - events_out
        row["drain_s"] = self.stack.drain(self.opts.drain_timeout_s)
        return row

    def health(self, system_id: int, conns: int, duration_s: float) -> dict[str, Any]:
        window_total = int(self.stack.health(system_id)["total"])
        res = self._wrk(f"/systems/{system_id}/health", "GET", None, conns, duration_s)
        row = self._row("health", None, conns, res)
        row["window_total"] = window_total  # events in the default window while reading
        return row

    def warm_up(self) -> None:
        system_id = self.stack.register("bench-warmup")
        self.ingest(system_id, 10, 2)
        self.health(system_id, self.opts.connections, 1)

    def one_run(self, index: int) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """All scenarios once, on a fresh system; returns (scenario rows, accounting)."""
        system_id = self.stack.register(f"bench-run-{index}")
        appended_before, _ = self.stack.counts()
        rows: dict[str, dict[str, Any]] = {}
        for n in SIZES:
            rows[f"ingest_{n}"] = row = self.ingest(system_id, n, self.opts.duration_s)
            print(
                f"  ingest N={n:<4}  {row['req_s']:>9,.0f} req/s {row['events_s']:>11,.0f} "
                f"events/s  p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms  "
                f"drain {row['drain_s']:.1f} s",
                flush=True,
            )
        self._check_readyz()
        for conns in (self.opts.connections, 1):
            rows[f"health_{conns}c"] = row = self.health(system_id, conns, self.opts.duration_s)
            print(
                f"  health {conns:>2} conns {row['req_s']:>9,.0f} req/s  "
                f"p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms",
                flush=True,
            )
        return rows, self._account(index, system_id, appended_before, rows)

    def _check_readyz(self) -> None:
        ready = self.stack.readyz()
        if ready.get("status_code") != 200:
            self.problems.append(f"/readyz after drain: {ready}")

    def _account(
        self, index: int, system_id: int, appended_before: int, rows: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        appended = self.stack.counts()[0] - appended_before
        total = int(self.stack.health(system_id, ACCOUNTING_WINDOW_S)["total"])
        wrk_events = sum(
            (r["requests"] - r["non2xx"]) * r["events_per_request"]
            for r in rows.values()
            if r["kind"] == "ingest"
        )
        dead = self.stack.dead_letters()
        ok = total == appended and total >= wrk_events and dead == 0
        if not ok:
            self.problems.append(
                f"run {index + 1}: health total {total} vs events appended {appended} vs "
                f"2xx events seen by wrk {wrk_events}; dead letters {dead}"
            )
        return {
            "ok": ok,
            "health_total": total,
            "events_appended": appended,
            "wrk_events": wrk_events,
            "dead_letters": dead,
        }


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="3 s per figure instead of 10 s")
    p.add_argument("--runs", type=int, default=3, help="runs of every scenario (default 3)")
    p.add_argument("--out", default="bench/results", help="directory for the JSON and Markdown")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--duration", type=float, help="seconds per figure (overrides --quick)")
    p.add_argument("--drain-timeout", type=float, default=300, help="max wait for the worker")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return Options(
        runs=args.runs,
        duration_s=args.duration or (3.0 if args.quick else 10.0),
        connections=args.connections,
        threads=args.threads,
        drain_timeout_s=args.drain_timeout,
        out=Path(args.out),
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the `with` blocks that stop the stack


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    wrk_path = wrk.find_wrk()
    # Also when started with SIGINT ignored (a background job of a non-interactive shell).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    started = datetime.now(UTC).replace(microsecond=0)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    logs_dir = opts.out / f"logs-{stamp}"
    runs: list[dict[str, dict[str, Any]]] = []
    accounting: list[dict[str, Any]] = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="lso-bench-") as tmp,
            Stack(Path(tmp), logs_dir) as stack,
        ):
            print(f"bench: stack up at {stack.base_url}; logs in {logs_dir}", flush=True)
            bench = Bench(stack, wrk_path, opts, Path(tmp))
            bench.warm_up()
            for i in range(opts.runs):
                print(f"run {i + 1}/{opts.runs}", flush=True)
                rows, acc = bench.one_run(i)
                runs.append(rows)
                accounting.append(acc)
            machine = report.machine_info(stack.server_version(), wrk.version(wrk_path))
            store = stack.store_stats()
    except KeyboardInterrupt:
        print("bench: interrupted; every child process was stopped", file=sys.stderr)
        return 130
    except StackError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    problems = bench.problems + scan_logs(logs_dir)
    problems += [
        f"`{name}` exit code on SIGTERM: {'killed' if code is None else code}"
        for name, code in stack.exit_codes.items()
        if code not in _CLEAN_EXITS
    ]
    result = {
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "config": {
            "runs": opts.runs,
            "duration_s": opts.duration_s,
            "connections": opts.connections,
            "threads": opts.threads,
            "sizes": list(SIZES),
        },
        "machine": machine,
        "summary": report.aggregate(runs),
        "accounting": accounting,
        "store_at_end": store,
        "problems": problems,
        "runs": runs,
    }
    text = report.markdown(result)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"bench-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    (opts.out / f"bench-{stamp}.md").write_text(text)
    print()
    print(text)
    print(f"bench: wrote {opts.out / f'bench-{stamp}.json'} and .md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
