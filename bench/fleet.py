"""Fleet: many systems at once, with the stream workers and the `lso jobs` evaluator running as
`lso up` runs them (2 each). One fleet per invocation: a second one in the same store would
double what the overview reads, so its figures are distributions over systems and requests.

In order: registration through `POST /systems/bulk` (one by one through `POST /systems` while
that is missing), every system with a silence policy; store memory per system after
registration and after one batch each; ingest into all systems against ingest into one (wrk,
workers stopped, as the ingest rows); a steady load (bench/fleet_load.py: each system one
10-event batch per period) during which the CPU of every process is read; then 1 % of the
systems fall silent and 1 % start failing, and the lateness of their UNHEALTHY transitions is
measured; last, `GET /health` latencies under the same steady load.
"""

import http.client
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench import fleet_load
from bench.cpu import cores_over
from bench.fleet_load import SteadyLoad
from bench.fleet_reads import case, lateness, lateness_row, overview, overview_rows, wait_evaluated

if TYPE_CHECKING:
    from bench.run import Bench

BULK_MAX = 1000
JOBS, WORKERS = 2, 2  # what `lso up` starts by default
SHARE = 0.01  # of the systems falling silent, and as many failing


@dataclass(frozen=True)
class Size:
    systems: int
    interval_s: int
    grace_s: int
    period_s: float  # each system sends one batch per period in the steady load
    connections: int  # of the steady load
    cpu_window_s: float


FULL = Size(systems=10_000, interval_s=30, grace_s=10, period_s=10.0, connections=32,
            cpu_window_s=30.0)  # fmt: skip
QUICK = Size(systems=200, interval_s=3, grace_s=1, period_s=1.0, connections=4, cpu_window_s=5.0)


def fleet(bench: "Bench", index: int, size: Size) -> dict[str, dict[str, Any]]:
    s = bench.stack
    s.start_jobs(JOBS)
    s.stop_workers()
    s.start_workers(WORKERS)
    prefix = f"fleet-{index}/"
    rows: dict[str, dict[str, Any]] = {}
    try:
        memory_before = s.used_memory()
        ids, rows["fleet_registration"] = register(bench, prefix, size)
        registered = s.used_memory()
        # Evaluated since its batch was sent: a system evaluated OK is not evaluated again until
        # something new comes or falls due, so "since the last batch was sent" would wait for
        # the first ones' silence.
        sending_s = time.time() - 1
        _once(bench, ids, size)
        evaluated = wait_evaluated(bench, prefix, len(ids), sending_s)
        batched = s.used_memory()
        rows["fleet_memory"] = _memory_row(size, memory_before, registered, batched, evaluated)
        rows.update(ingest(bench, ids))
        rows.update(steady(bench, prefix, ids, size))
    finally:
        s.stop_jobs()
    return rows


def register(bench: "Bench", prefix: str, size: Size) -> tuple[list[int], dict[str, Any]]:
    """N systems named `<prefix><i>`, each with the silence policy; the bulk endpoint when the
    API has it. Returns the ids in order and the row."""
    policy = {"expected_interval_seconds": size.interval_s, "grace_seconds": size.grace_s}
    wanted = [{"name": f"{prefix}{i:05d}", "policy": policy} for i in range(size.systems)]
    conn = http.client.HTTPConnection("127.0.0.1", bench.stack.port, timeout=120)
    ids: list[int] = []
    bulk = True
    start = time.perf_counter()
    try:
        for first in range(0, len(wanted), BULK_MAX):
            chunk = wanted[first : first + BULK_MAX]
            status, body = _post(conn, "/systems/bulk", {"systems": chunk}) if bulk else (0, {})
            if status in (404, 405) and first == 0:
                bulk = False  # not there yet: one by one (said in the label)
            if bulk:
                if status != 200 or len(body["systems"]) != len(chunk):
                    raise RuntimeError(f"POST /systems/bulk answered {status}: {body}")
                ids += [int(line["system_id"]) for line in body["systems"]]
                continue
            for one in chunk:
                status, body = _post(conn, "/systems", one)
                if status not in (200, 201):
                    raise RuntimeError(f"POST /systems answered {status}: {body}")
                ids.append(int(body["system_id"]))
    finally:
        conn.close()
    elapsed_s = time.perf_counter() - start
    how = f"POST /systems/bulk, {BULK_MAX} a request" if bulk else (
        "POST /systems one by one (no /systems/bulk in this API)")  # fmt: skip
    return ids, case(
        f"fleet: registration of {size.systems:,} systems with a silence policy ({how})",
        "{systems_s} systems/s ({seconds} s)",
        {"systems_s": len(ids) / elapsed_s, "seconds": elapsed_s},
        None,
        None,
    )


def _post(conn: http.client.HTTPConnection, path: str, body: Any) -> tuple[int, Any]:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    return resp.status, json.loads(raw) if raw else None


def _once(bench: "Bench", ids: list[int], size: Size) -> None:
    """One 10-event batch to every system, as fast as the load's connections go."""
    with SteadyLoad(bench, {"ids": ids, "period_s": 0.0, "connections": size.connections,
                            "once": True}) as load:  # fmt: skip
        result = load.wait(timeout_s=600)
    _check_load(bench, "fleet: one batch each", result)
    bench.stack.drain(bench.opts.drain_timeout_s)


def _memory_row(
    size: Size, before: int, registered: int, batched: int, evaluated: bool
) -> dict[str, Any]:
    per_system = (registered - before) / size.systems
    figures = {"registered_b": per_system, "batched_b": (batched - before) / size.systems}
    return case(
        "fleet: store memory per system (INFO used_memory delta / N)",
        "{registered_b} bytes after registration; {batched_b} after one 10-event batch each, "
        "applied" + (" and evaluated" if evaluated else " (not all evaluated)"),
        figures,
        "≤ 4,096 bytes a system, data aside",
        per_system <= 4096,
    )


def ingest(bench: "Bench", ids: list[int]) -> dict[str, dict[str, Any]]:
    """10-event batches into all `ids` in turn against into one of them, workers stopped; both
    through bench/rotate.lua (one Lua call per request in wrk either way)."""
    s, opts, conns = bench.stack, bench.opts, bench.opts.connections
    body = bench.body_file(10)
    spread = bench.work_dir / "fleet-paths.txt"
    spread.write_text("".join(f"/systems/{sid}/events\n" for sid in ids))
    single = bench.work_dir / "fleet-one-path.txt"
    single.write_text(f"/systems/{ids[0]}/events\n")
    s.stop_workers()
    rows = {}
    runs = (
        ("fleet_ingest_one", single, "1 system"),
        ("fleet_ingest_all", spread, f"{len(ids):,} systems in turn"),
    )
    for name, paths, what in runs:
        res = bench.run_wrk("", "POST", body, conns, opts.duration_s, paths_file=paths)
        rows[name] = bench.row("ingest", f"fleet: ingest N=10 into {what}", conns, res, 10)
    s.start_workers(WORKERS)
    s.drain(opts.drain_timeout_s)
    all_s, one_s = rows["fleet_ingest_all"]["events_s"], rows["fleet_ingest_one"]["events_s"]
    ratio = all_s / one_s if one_s else 0.0
    rows["fleet_ingest_ratio"] = case(
        f"fleet: ingest into {len(ids):,} systems against into one (N=10, {conns} conns)",
        "{all_s} events/s against {one_s}: {ratio}x",
        {"all_s": all_s, "one_s": one_s, "ratio": ratio},
        "≥ 0.8x",
        ratio >= 0.8,
    )
    return rows


def steady(bench: "Bench", prefix: str, ids: list[int], size: Size) -> dict[str, dict[str, Any]]:
    count = max(2, round(SHARE * len(ids)))
    silent, failing = ids[1 : 1 + count], ids[1 + count : 1 + 2 * count]
    plan = {"ids": ids, "period_s": size.period_s, "connections": size.connections,
            "silent": silent, "failing": failing}  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    with SteadyLoad(bench, plan) as load:
        started_s = time.time()
        time.sleep(size.period_s + 1)  # pacing: every system has sent once under the load
        wait_evaluated(bench, prefix, len(ids), started_s)
        rows["fleet_cpu"] = cpu_row(bench, load, size)
        load.change()
        bad, unhealthy = set(silent) | set(failing), set[int]()
        deadline = time.monotonic() + size.interval_s + size.grace_s + size.period_s + 60
        while time.monotonic() < deadline:
            lines = overview(bench, f"?prefix={prefix}&health=UNHEALTHY")
            unhealthy = unhealthy if lines is None else {line["system_id"] for line in lines}
            if bad <= unhealthy:
                break
            time.sleep(0.5)
        rows.update(overview_rows(bench))
        others = len(unhealthy - bad)
        result = load.stop()
    _check_load(bench, "fleet: steady load", result)
    silence_s = size.interval_s + size.grace_s
    due = {int(k): v + silence_s for k, v in result["silent_last_ok"].items()}
    late = lateness(bench, due, result["changed_at"])
    rows["fleet_silence"] = lateness_row(
        f"fleet: silence detection, {count} of {len(ids):,} systems stop sending "
        f"(interval {size.interval_s} s + grace {size.grace_s} s)",
        late, count, others,
        "UNHEALTHY transition `at` − (last event ts + interval + grace)",
    )  # fmt: skip
    failed = lateness(bench, {int(k): v for k, v in result["failing_flipped"].items()},
                      result["changed_at"])  # fmt: skip
    rows["fleet_failing"] = lateness_row(
        f"fleet: failure detection, {count} systems send {fleet_load.FLIP_EVENTS} error events",
        failed, count, others, "UNHEALTHY transition `at` − the error batch's send time",
    )  # fmt: skip
    return rows


def cpu_row(bench: "Bench", load: SteadyLoad, size: Size) -> dict[str, Any]:
    s = bench.stack
    groups = {
        "jobs": [s.pid(n) for n in s.procs if n.startswith("jobs")],
        "api": [s.pid("api")],
        "workers": [s.pid(n) for n in s.procs if n.startswith("worker")],
        "valkey": [s.valkey.process.pid] if s.valkey.process else [],
        "load": [load.pid],
    }
    in_before = s.counts()[0]
    cores = cores_over(groups, size.cpu_window_s)
    cores["batches_s"] = (s.counts()[0] - in_before) / 10 / size.cpu_window_s
    return case(
        f"fleet: CPU during the steady load ({len(groups['jobs'])} `lso jobs`, "
        f"{len(groups['workers'])} workers; {size.cpu_window_s:g} s)",
        "cores: jobs {jobs}, API {api}, workers {workers}, Valkey {valkey}, the load itself "
        "{load}; {batches_s} batches/s appended",
        cores,
        "jobs ≤ 0.25 of a core",
        cores["jobs"] <= 0.25,
    )


def _check_load(bench: "Bench", what: str, result: dict[str, Any]) -> None:
    if set(result["statuses"]) - {"202"}:
        bench.problems.append(f"{what}: answers {result['statuses']}; first: {result['first_bad']}")
