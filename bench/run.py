"""Benchmark ingest and health reads of a real LSO stack with wrk.

    .venv/bin/python -m bench.run [--quick] [--runs 3] [--out bench/results] [--only abuse]

See bench/README.md for what is measured and how to read the results.
"""

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import abuse, adapters, fleet, memory, report, scenarios, wrk
from bench.logs import scan_logs
from bench.scratch import scratch_store
from bench.stack import Stack, StackError

SIZES = (1, 10, 100, 1000)
EVENT_TYPES = ("extract", "transform", "load", "publish")
STAGES = ("extract", "transform", "load")
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
    e2e_s: float
    drain_batches: int
    only: str
    out: Path
    smoke: bool = False
    quick: bool = False


def event_batch(n: int, now: datetime) -> bytes:
    """A valid batch of `n` events stamped `now` as pipelines report them (~170 bytes each):
    2 % errors, latencies 5-55 ms, one of three stages, a run id, a ~30-byte payload. No event
    ids: wrk sends the same body again and again, and repeated ids would count once."""
    ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    events = [
        {
            "ts": ts,
            "event_type": EVENT_TYPES[i % len(EVENT_TYPES)],
            "status": "error" if i % 50 == 49 else "ok",
            "latency_ms": round(5 + (i * 37 % 500) / 10, 1),
            "stage": STAGES[i % len(STAGES)],
            "run_id": f"nightly-{now:%Y-%m-%d}",
            "payload": {"table": "orders", "rows": 1000 + i},
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

    def run_wrk(
        self,
        path: str,
        method: str,
        body: Path | None,
        conns: int,
        duration_s: float,
        *,
        base_url: str | None = None,
        delay_ms: float = 0.0,
        headers: dict[str, str] | None = None,
        paths_file: Path | None = None,
    ) -> wrk.WrkResult:
        result = wrk.run(
            self.wrk_path,
            (base_url or self.stack.base_url) + path,
            method=method,
            body_file=body,
            duration_s=duration_s,
            connections=conns,
            threads=self.opts.threads,
            delay_ms=delay_ms,
            headers=headers,
            paths_file=paths_file,
        )
        self.stack.check_alive()
        return result

    def row(
        self, kind: str, label: str, conns: int, res: wrk.WrkResult, n: int | None = None
    ) -> dict[str, Any]:
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
            "label": label,
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

    def body_file(self, n: int) -> Path:
        body = self.work_dir / f"batch-{n}.json"
        body.write_bytes(event_batch(n, datetime.now(UTC)))
        return body

    def ingest(self, system_id: int, n: int, duration_s: float) -> dict[str, dict[str, Any]]:
        """LSO and both baselines (bench/baselines.py) with the same body, the workers stopped:
        this is the API's own cost; the pipeline as a whole is `scenarios.end_to_end`."""
        body = self.body_file(n)
        conns = self.opts.connections
        path = f"/systems/{system_id}/events"
        rows = {}
        for name, url in (("floor", self.floor_url), ("naive", self.naive_url), ("lso", None)):
            res = self.run_wrk(path, "POST", body, conns, duration_s, base_url=url)
            rows[f"ingest_{n}_{name}"] = self.row("ingest", f"ingest N={n}, {name}", conns, res, n)
        return rows

    def ingest_applying(self, system_id: int, n: int, duration_s: float) -> dict[str, Any]:
        """LSO ingest with one worker applying what it accepts meanwhile, as in production: the
        worker and the store take their share of the cores."""
        body = self.body_file(n)
        conns = self.opts.connections
        res = self.run_wrk(f"/systems/{system_id}/events", "POST", body, conns, duration_s)
        label = f"ingest N={n}, lso, 1 worker applying"
        return {f"ingest_{n}_lso_applying": self.row("ingest", label, conns, res, n)}

    def health(self, system_id: int, conns: int, duration_s: float) -> dict[str, Any]:
        res = self.run_wrk(f"/systems/{system_id}/health", "GET", None, conns, duration_s)
        return self.row("health", "health", conns, res)

    def warm_up(self) -> None:
        system_id = self.stack.register("bench-warmup")
        self.floor_url = self.stack.start_baseline("floor")
        self.naive_url = self.stack.start_baseline("naive")
        self.stack.stop_workers()
        self.ingest(system_id, 10, 1)
        self.stack.start_workers(1)
        self.stack.drain(self.opts.drain_timeout_s)
        self.health(system_id, self.opts.connections, 1)

    def one_run(self, index: int) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
        """All scenarios once, on fresh systems; returns (scenario rows, accounting). The abuse
        scenario checks its own systems' totals (its problems), so alone it has no accounting."""
        if self.opts.only == "abuse":
            return self.abuse(), None
        if self.opts.only == "adapters":
            return self.adapters(), None
        if self.opts.only == "fleet":
            return self.fleet(index), None
        system_id = self.stack.register(f"bench-run-{index}")
        probe_id = self.stack.register(f"bench-probe-{index}")
        appended_before, _ = self.stack.counts()
        rows: dict[str, dict[str, Any]] = {}
        if self.opts.only == "e2e":
            rows.update(scenarios.end_to_end(self, system_id, probe_id))
            self._print(rows, list(rows))
            return rows, self._account(index, (system_id, probe_id), appended_before, rows)
        self.stack.stop_workers()
        for n in SIZES:
            rows.update(self.ingest(system_id, n, self.opts.duration_s))
            self._print(rows, [f"ingest_{n}_{name}" for name in ("floor", "naive", "lso")])
        self.stack.start_workers(1)
        self.stack.drain(self.opts.drain_timeout_s)
        rows.update(self.ingest_applying(system_id, 100, self.opts.duration_s))
        self._print(rows, ["ingest_100_lso_applying"])
        self.stack.drain(self.opts.drain_timeout_s)
        self._check_readyz()
        e2e = scenarios.end_to_end(self, system_id, probe_id)
        self._print(e2e, list(e2e))
        rows.update(e2e)
        accounting = self._account(index, (system_id, probe_id), appended_before, rows)
        drained = scenarios.drain(self, self.opts.drain_batches)
        self._print(drained, list(drained))
        rows.update(drained)
        health = scenarios.health(self, scenarios.prefill_health(self.stack))
        self._print(health, list(health))
        rows.update(health)
        rows.update(self.adapters())
        rows.update(self.abuse())
        if index == self.opts.runs - 1:  # one fleet per invocation (bench/fleet.py)
            rows.update(self.fleet(index))
        return rows, accounting

    def adapters(self) -> dict[str, dict[str, Any]]:
        self.stack.stop_workers()
        rows = adapters.adapters(self)
        self._print(rows, list(rows))
        self.stack.start_workers(1)
        self.stack.drain(self.opts.drain_timeout_s)
        return rows

    def abuse(self) -> dict[str, dict[str, Any]]:
        rows = abuse.abuse(self, abuse.SMOKE if self.opts.smoke else abuse.FULL)
        self._print_cases(rows)
        return rows

    def fleet(self, index: int) -> dict[str, dict[str, Any]]:
        size = fleet.QUICK if self.opts.quick or self.opts.smoke else fleet.FULL
        rows = fleet.fleet(self, index, size)
        self._print({n: r for n, r in rows.items() if "template" not in r},
                    [n for n, r in rows.items() if "template" not in r])  # fmt: skip
        self._print_cases({n: r for n, r in rows.items() if "template" in r})
        return rows

    @staticmethod
    def _print_cases(rows: dict[str, dict[str, Any]]) -> None:
        """Rows with their own figures and target (abuse, fleet)."""
        for r in rows.values():
            verdict = {True: "met", False: "MISSED", None: "no target"}[r["met"]]
            print(f"  {r['label']}\n    {report.filled(r['template'], r['figures'])}; "
                  f"target {r['target']}: {verdict}", flush=True)  # fmt: skip

    @staticmethod
    def _print(rows: dict[str, dict[str, Any]], names: list[str]) -> None:
        for name in names:
            r = rows[name]
            parts = [f"  {r['label']:<58}"]
            if r.get("req_s") is not None:
                parts.append(f"{r['req_s']:>8,.0f} req/s")
            if r.get("events_s") is not None:
                parts.append(f"{r['events_s']:>9,.0f} events/s")
            if r.get("p50_ms") is not None:
                parts.append(f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms")
            print("  ".join(parts), flush=True)

    def _check_readyz(self) -> None:
        ready = self.stack.readyz()
        if ready.get("status_code") != 200:
            self.problems.append(f"/readyz after drain: {ready}")

    def _account(
        self,
        index: int,
        ids: tuple[int, int],
        appended_before: int,
        rows: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """The run's system and the visibility probe's system hold every event appended since
        `appended_before`, exactly once."""
        appended = self.stack.counts()[0] - appended_before
        system_id, probe_id = ids
        total = int(self.stack.health(system_id, ACCOUNTING_WINDOW_S)["total"])
        probe_total = int(self.stack.health(probe_id, ACCOUNTING_WINDOW_S)["total"])
        wrk_events = sum(
            (r["requests"] - r["non2xx"]) * r["events_per_request"]
            for r in rows.values()
            if r["kind"] == "e2e" or r["label"].endswith(", lso")
        )
        dead = self.stack.dead_letters()
        ok = total + probe_total == appended and total >= wrk_events and dead == 0
        if not ok:
            self.problems.append(
                f"run {index + 1}: health total {total} (+ {probe_total} probe events) vs "
                f"events appended {appended} vs "
                f"2xx events seen by wrk {wrk_events}; dead letters {dead}"
            )
        return {
            "ok": ok,
            "health_total": total,
            "probe_total": probe_total,
            "events_appended": appended,
            "wrk_events": wrk_events,
            "dead_letters": dead,
        }


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="3 s per figure instead of 10 s; a fleet of 200 systems, not 10,000",
    )
    p.add_argument(
        "--smoke", action="store_true", help="1 run, 1 s per figure, tiny sizes (CI: it runs)"
    )
    p.add_argument("--e2e", type=float, help="seconds of each end-to-end figure (default 60)")
    p.add_argument("--drain-batches", type=int, default=2000, help="100-event batches to drain")
    p.add_argument(
        "--only",
        choices=["all", "e2e", "abuse", "adapters", "fleet"],
        default="all",
        help="run only this scenario",
    )
    p.add_argument("--runs", type=int, default=3, help="runs of every scenario (default 3)")
    p.add_argument("--out", default="bench/results", help="directory for the JSON and Markdown")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--duration", type=float, help="seconds per figure (overrides --quick)")
    p.add_argument("--drain-timeout", type=float, default=300, help="max wait for the worker")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.smoke:
        args.runs, args.duration, args.e2e, args.drain_batches = 1, 1.0, 1.0, 20
    if args.only == "fleet":
        args.runs = 1  # one fleet per invocation: a second would double what /health reads
    return Options(
        runs=args.runs,
        e2e_s=args.e2e or (10.0 if args.quick else 60.0),
        drain_batches=args.drain_batches,
        only=args.only,
        duration_s=args.duration or (3.0 if args.quick else 10.0),
        connections=args.connections,
        threads=args.threads,
        drain_timeout_s=args.drain_timeout,
        out=Path(args.out),
        smoke=args.smoke,
        quick=args.quick,
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
    command = shlex.join([os.path.relpath(sys.executable), "-m", "bench.run",
                          *(sys.argv[1:] if argv is None else argv)])  # fmt: skip
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
                if acc is not None:
                    accounting.append(acc)
            machine = report.machine_info(stack.server_version(), wrk.version(wrk_path))
            store = stack.store_stats()
        with scratch_store() as (url, client):
            batches = 20 if opts.drain_batches < 100 else 1000
            memory_figures = memory.measure(url, client, batches, 100)
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
        "command": command,
        "config": {
            "runs": opts.runs,
            "duration_s": opts.duration_s,
            "connections": opts.connections,
            "threads": opts.threads,
            "sizes": list(SIZES),
            "e2e_s": opts.e2e_s,
            "drain_batches": opts.drain_batches,
            "only": opts.only,
        },
        "machine": machine,
        "summary": report.aggregate(runs),
        "accounting": accounting,
        "store_at_end": store,
        "memory": memory_figures,
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
