"""The pipeline scenarios of one benchmark run: end to end, drain, and health reads by size.

Each returns rows in the shape of `Bench._row` (kind, label, measures), so that bench/report.py
aggregates and prints them like the ingest rows.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from bench import wrk
from bench.health_read import prefill
from bench.scratch import fill
from bench.store_cost import per_event, store_time

if TYPE_CHECKING:
    from bench.run import Bench

E2E_BATCH = 100
E2E_CONNS = 8
SEARCH_STEPS, SEARCH_FACTOR = 2, 1.25
HEALTH_SIZES = (10**3, 10**5, 10**7)
HEALTH_WINDOWS = (("5 min", 300), ("24 h", 86_400))


def end_to_end(bench: "Bench", system_id: int, probe_id: int) -> dict[str, dict[str, Any]]:
    """1 API + 1 worker: the highest rate whose backlog stays bounded, then visibility at half.

    A closed-loop run (every connection sends as fast as it is answered) gives a first rate the
    worker keeps up with; runs offering 90 % of it, then 1.25x more each time (up to
    SEARCH_STEPS), each for the full duration, keep the highest one whose backlog at the end is
    under 2 s of traffic (`bounded`). The last run offers half that rate while `Visibility`
    measures 202 -> visible in /health.
    """
    s, opts = bench.stack, bench.opts
    body = bench.body_file(E2E_BATCH)
    path = f"/systems/{system_id}/events"
    rows: dict[str, dict[str, Any]] = {}

    def offered(rate_events_s: float | None, label: str) -> dict[str, Any]:
        delay_ms = 0.0 if rate_events_s is None else E2E_CONNS * E2E_BATCH * 1000 / rate_events_s
        before_out = s.counts()[1]
        res = bench.run_wrk(path, "POST", body, E2E_CONNS, opts.e2e_s, delay_ms=delay_ms)
        events_in, events_out = s.counts()
        row = bench.row("e2e", label, E2E_CONNS, res, E2E_BATCH)
        accepted_s = row["events_s"] or 0.0
        row["applied_s"] = (events_out - before_out) / res.duration_s
        row["backlog_end_s"] = (events_in - events_out) / max(accepted_s, 1.0)
        row["drain_s"] = s.drain(opts.drain_timeout_s)
        return row

    closed = offered(None, "closed loop")
    rows["e2e_closed"] = closed
    # Start from what the worker applied under the closed loop (the API then takes most of the
    # CPU, so that is a lower bound), and step up while the backlog stays bounded.
    rate = 0.9 * min(closed["events_s"] or 0.0, closed["applied_s"])
    sustained = offered(rate, "sustained: highest bounded offered rate found")
    sustained["bounded"] = sustained["backlog_end_s"] < 2.0
    for _ in range(SEARCH_STEPS if sustained["bounded"] else 0):
        rate *= SEARCH_FACTOR
        higher = offered(rate, "sustained: highest bounded offered rate found")
        higher["bounded"] = higher["backlog_end_s"] < 2.0
        if not higher["bounded"] or (higher["events_s"] or 0) <= (sustained["events_s"] or 0):
            break
        sustained = higher
    rows["e2e_sustained"] = sustained
    half = (sustained["events_s"] or 0.0) / 2
    with Visibility(s, probe_id) as vis:
        rows["e2e_half"] = row = offered(half, "half the sustained rate, visibility")
    row["p50_ms"], row["p99_ms"] = vis.percentiles()
    row["visibility_samples"] = len(vis.samples_ms)
    if not vis.samples_ms:
        bench.problems.append(f"visibility: no sample ({vis.last_status} from the probe's POST)")
    bench.half_rate = half
    return rows


class Visibility:
    """Posts one event to a probe system every `every_s` and polls its /health until the event
    is counted: the time from the 202 to visible, in ms."""

    def __init__(self, stack: Any, system_id: int, every_s: float = 0.1) -> None:
        self._stack = stack
        self._path = f"/systems/{system_id}"
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.samples_ms: list[float] = []
        self.last_status: int | None = None

    def __enter__(self) -> "Visibility":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _total(self) -> int:
        _, body = self._stack.request("GET", self._path + "/health?window_seconds=3600")
        return int(body["total"])

    def _run(self) -> None:
        seen = self._total()
        while not self._stop.is_set():
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            event = {"ts": ts, "event_type": "probe", "status": "ok", "latency_ms": 1.0}
            status, _ = self._stack.request("POST", self._path + "/events", {"events": [event]})
            self.last_status = status
            if status != 202:
                self._stop.wait(self._every_s)
                continue
            accepted = time.perf_counter()
            seen += 1
            deadline = accepted + 30
            while self._total() < seen and time.perf_counter() < deadline:
                time.sleep(0.002)
            self.samples_ms.append((time.perf_counter() - accepted) * 1000)
            self._stop.wait(self._every_s)

    def percentiles(self) -> tuple[float | None, float | None]:
        if not self.samples_ms:
            return None, None
        ordered = sorted(self.samples_ms)
        return _rank(ordered, 0.5), _rank(ordered, 0.99)


def _rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def drain(bench: "Bench", batches: int) -> dict[str, dict[str, Any]]:
    """Events/s per worker process for 1, 2 and 4 `lso worker` processes on a pre-filled stream
    of realistic events (bench/scratch.py `fill`: stages, run ids, payloads, ids on half), and
    the store's time per applied event (bench/store_cost.py)."""
    s = bench.stack
    rows: dict[str, dict[str, Any]] = {}
    store = redis.Redis.from_url(s.valkey.url)
    try:
        for workers in (1, 2, 4):
            s.stop_workers()
            sid = s.register(f"bench-drain-{workers}-{time.monotonic_ns()}")
            fill(store, batches, E2E_BATCH, 60_000, system_id=sid, realistic=True)
            first_out = s.counts()[1]
            store_before = store_time(store)
            s.start_workers(workers)
            # Timed from the first applied entry: process start-up is not drain speed.
            deadline = time.monotonic() + bench.opts.drain_timeout_s
            while s.counts()[1] == first_out and time.monotonic() < deadline:
                time.sleep(0.005)
            start = time.monotonic()
            s.drain(bench.opts.drain_timeout_s)
            elapsed = time.monotonic() - start
            rate = batches * E2E_BATCH / elapsed
            rows[f"drain_{workers}w"] = {
                "kind": "drain",
                "label": f"drain, {workers} worker process(es), per worker",
                "conns": None,
                "events_s": rate / workers,
                "drain_s": elapsed,
                **per_event(store_before, store_time(store), batches * E2E_BATCH),
            }
        s.stop_workers()
        s.start_workers(1)
    finally:
        store.close()
    return rows


def prefill_health(stack: Any) -> dict[tuple[str, int], tuple[int, int]]:
    """Systems with counters for every window and size; (name, events) -> (id, window_s)."""
    store = redis.Redis.from_url(stack.valkey.url)
    now_s = int(time.time())
    ids = {}
    for name, window_s in HEALTH_WINDOWS:
        for events in HEALTH_SIZES:
            sid = stack.register(f"bench-health-{window_s}-{events}-{time.monotonic_ns()}")
            prefill(store, sid, window_s, events, now_s)
            ids[(name, events)] = (sid, window_s)
    store.close()
    return ids


def health(
    bench: "Bench", ids: dict[tuple[str, int], tuple[int, int]]
) -> dict[str, dict[str, Any]]:
    """Health reads per window and size: 1 connection (latency) and 16 (reads/s), idle; 1
    connection while ingest runs at half the sustained rate *into the system being read* (so
    that every read is recomputed: its data version keeps changing); the load-balancer probe."""
    rows: dict[str, dict[str, Any]] = {}
    d = bench.opts.duration_s
    for (name, events), (sid, window_s) in ids.items():
        path = f"/systems/{sid}/health?window_seconds={window_s}"
        tag = f"{name}, {events:.0e} events"
        for conns in (1, 16):
            res = bench.run_wrk(path, "GET", None, conns, d)
            rows[f"health {tag}, idle, {conns}c"] = bench.row(
                "health", f"health {tag}, idle", conns, res
            )
    sid, window_s = ids[("5 min", 10**7)]
    loaded = {
        "health 5 min, 1e+07 events, under ingest": f"/systems/{sid}/health?window_seconds=300",
        "probe 5 min, 1e+07 events, under ingest": f"/systems/{sid}/health?probe=true",
    }
    for label, path in loaded.items():
        with _background_ingest(bench, sid, bench.half_rate, d):
            res = bench.run_wrk(path, "GET", None, 1, d)
        rows[label] = bench.row("health", label, 1, res)
    res = bench.run_wrk(f"/systems/{sid}/health?probe=true", "GET", None, 16, d)
    rows["probe idle 16c"] = bench.row("health", "probe 5 min, 1e+07 events, idle", 16, res)
    bench.stack.drain(bench.opts.drain_timeout_s)
    return rows


@contextmanager
def _background_ingest(
    bench: "Bench", system_id: int, rate: float, duration_s: float
) -> Iterator[None]:
    """Ingest 100-event batches into `system_id` at about `rate` events/s while the body runs."""
    delay_ms = E2E_CONNS * E2E_BATCH * 1000 / max(rate, 1.0)
    body: Path = bench.body_file(E2E_BATCH)
    url = f"{bench.stack.base_url}/systems/{system_id}/events"
    load = threading.Thread(
        target=lambda: wrk.run(
            bench.wrk_path,
            url,
            method="POST",
            body_file=body,
            duration_s=duration_s + 1,
            connections=E2E_CONNS,
            threads=1,
            delay_ms=delay_ms,
        ),  # fmt: skip
        daemon=True,
    )
    load.start()
    time.sleep(0.5)  # let the load ramp up before the reads start
    try:
        yield
    finally:
        load.join()
