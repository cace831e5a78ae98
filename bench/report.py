"""Machine description, aggregation over runs, and the Markdown report."""

import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

from bench import adapters

# Figures aggregated as median/min/max over runs, and counts summed over runs.
MEASURES = ("req_s", "events_s", "p50_ms", "p99_ms", "drain_s")
EXTRA = ("applied_s", "backlog_end_s", "store_us_per_event", "store_cpu_us_per_event")
COUNTS = ("requests", "non2xx", "socket_errors")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return out.stdout.strip()


def machine_info(server_version: str, wrk_version: str) -> dict[str, Any]:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "mem_gib": _mem_gib(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "server": server_version,
        "wrk": wrk_version,
        "lso_commit": commit,
    }


def machine_line(m: dict[str, Any]) -> str:
    return (
        f"{m['nproc']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB RAM, {m['kernel']}, "
        f"Python {m['python']}, {m['server']}, {m['wrk']}, LSO {m['lso_commit']}"
    )


def aggregate(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Scenario -> {measure: {median, min, max}, count: total} over the runs that have it (the
    fleet runs once per invocation)."""
    out: dict[str, dict[str, Any]] = {}
    names = list(dict.fromkeys(name for run in runs for name in run))
    for scenario in names:
        rows = [run[scenario] for run in runs if scenario in run]
        agg: dict[str, Any] = {
            k: rows[0].get(k) for k in ("kind", "label", "events_per_request", "conns")
        }
        if "bounded" in rows[0]:
            agg["bounded"] = [row["bounded"] for row in rows]
        if "figures" in rows[0]:  # abuse and fleet rows: their own figures and target
            agg.update(template=rows[0]["template"], target=rows[0]["target"])
            agg["met"] = [row["met"] for row in rows]
            agg["figures"] = {
                name: _stats([row["figures"][name] for row in rows]) for name in rows[0]["figures"]
            }
        for measure in MEASURES + EXTRA:
            values = [row[measure] for row in rows if row.get(measure) is not None]
            if values:
                agg[measure] = _stats(values)
        for count in COUNTS:
            agg[count] = sum(row.get(count, 0) for row in rows)
        out[scenario] = agg
    return out


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(agg: dict[str, Any], measure: str) -> str:
    stats = agg.get(measure)
    if not stats:
        return "–"
    return f"{_num(stats['median'])} ({_num(stats['min'])}–{_num(stats['max'])})"


def filled(template: str, figures: dict[str, Any]) -> str:
    """`template` with each `{name}` replaced by its figure: one value, or over runs the median
    (min–max); whole numbers below 100 without decimals."""

    def one(value: float) -> str:
        return str(int(value)) if float(value).is_integer() and abs(value) < 100 else _num(value)

    def cell(value: Any) -> str:
        if not isinstance(value, dict):
            return one(value)
        if value["min"] == value["max"]:
            return one(value["median"])
        return f"{one(value['median'])} ({one(value['min'])}–{one(value['max'])})"

    return template.format_map({name: cell(value) for name, value in figures.items()})


def markdown(result: dict[str, Any]) -> str:
    cfg = result["config"]
    summary = result["summary"]
    table = {name: agg for name, agg in summary.items() if "template" not in agg}
    lines = [
        f"# LSO benchmark, {result['started_at']}",
        "",
        f"Command: `{result.get('command', 'python -m bench.run')}`",
        "",
        f"Machine: {machine_line(result['machine'])}",
        "",
        f"Stack: 1 `lso api` process, {_workers(cfg.get('only', 'all'))}, embedded Valkey (AOF, "
        f"fsync everysec); baselines under one uvicorn process "
        f"each; wrk {cfg['threads']} thread(s), {cfg['duration_s']:g} s per figure "
        f"({cfg.get('e2e_s', 0):g} s per end-to-end figure), "
        f"{cfg['runs']} runs. Cells: median (min–max) over runs; counts are totals over runs.",
    ]
    if table:
        lines += [
            "",
            "| Scenario | Conns | req/s | events/s | p50 ms | p99 ms | drain s | requests "
            "| non-2xx | socket errors |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
    for agg in table.values():
        cells = [_cell(agg, m) for m in MEASURES]
        counts = [f"{agg[c]:,}" for c in COUNTS]
        conns = "" if agg["conns"] is None else str(agg["conns"])
        lines.append(f"| {agg['label']} | {conns} | " + " | ".join(cells + counts) + " |")
    ratios = derived(summary)
    if table and len(ratios) > 2:
        lines += ["", *ratios]
    if "memory" in result:
        lines += ["", memory_line(result["memory"])]
    abuse = [agg for agg in summary.values() if agg["kind"] == "abuse"]
    if abuse:
        lines += ["", *abuse_table(abuse)]
    cases = [agg for agg in summary.values() if agg["kind"] == "fleet" and "template" in agg]
    if cases:
        lines += ["", *fleet_table(cases)]
    if result["accounting"]:
        lines += ["", "Accounting (per run, after the stream drained):", ""]
    for i, acc in enumerate(result["accounting"], 1):
        verdict = "OK" if acc["ok"] else "MISMATCH"
        lines.append(
            f"- run {i}: {verdict}: health total {acc['health_total']:,} (+ "
            f"{acc.get('probe_total', 0):,} visibility probe events), events appended "
            f"{acc['events_appended']:,}, 2xx events counted by wrk {acc['wrk_events']:,}, "
            f"dead letters {acc['dead_letters']}"
        )
    store = result["store_at_end"]
    lines += [
        "",
        f"Store at the end: {store['used_memory_human']} used (peak "
        f"{store['used_memory_peak_human']}), {store['aof_rewrites']} AOF rewrites, "
        f"{store['keys']:,} keys.",
    ]
    if result["problems"]:
        lines += ["", "Problems seen:", ""]
        lines += [f"- {p}" for p in result["problems"]]
    return "\n".join(lines) + "\n"


def _workers(only: str) -> str:
    if only == "fleet":
        return "2 `lso worker` (none during the ingest figures) and 2 `lso jobs` processes"
    return (
        "1 `lso worker` (none during the ingest figures; 1, 2, 4 for drain; 2 and 2 `lso jobs` "
        "for the fleet)"
    )


def abuse_table(rows: list[dict[str, Any]]) -> list[str]:
    """The abuse rows (bench/abuse.py): what was measured, the target, in how many runs met."""
    lines = [
        "Abuse (bench/abuse.py): a second `lso api` on the same store with auth on (each tenant "
        "its own system and ingest key; probes without a key) and LSO_HTTP_HEADER_TIMEOUT_S=1, "
        "workers stopped; the tenant's load and every abusive load are wrk or bench/floods.py "
        "processes. Cells: median (min–max) over runs.",
        "",
        "| Case | Measured | Target | Met |",
        "|---|---|---|---|",
    ]
    for agg in rows:
        met = f"{sum(agg['met'])}/{len(agg['met'])} runs"
        lines.append(
            f"| {agg['label']} | {filled(agg['template'], agg['figures'])} | {agg['target']} "
            f"| {met} |"
        )
    return lines


def fleet_table(rows: list[dict[str, Any]]) -> list[str]:
    """The fleet's figures (bench/fleet.py), each with its target."""
    lines = [
        "Fleet (bench/fleet.py): one fleet per invocation, with 2 `lso worker` and 2 `lso jobs` "
        "processes; the steady load is bench/fleet_load.py, its own process. Figures are "
        "distributions over the fleet's systems and requests.",
        "",
        "| Case | Measured | Target | Met |",
        "|---|---|---|---|",
    ]
    for agg in rows:
        verdicts = [m for m in agg["met"] if m is not None]
        met = f"{sum(verdicts)}/{len(verdicts)} runs" if verdicts else "–"
        lines.append(
            f"| {agg['label']} | {filled(agg['template'], agg['figures'])} | {agg['target']} "
            f"| {met} |"
        )
    return lines


def _median(summary: dict[str, dict[str, Any]], name: str, measure: str) -> float | None:
    stats = summary.get(name, {}).get(measure)
    return None if not stats else float(stats["median"])


def memory_line(m: dict[str, float]) -> str:
    return (
        f"Memory ({m['events']:,.0f} events in 100-event bursts over 50 min, 30-byte payload): "
        f"{m['stream_bytes_per_event']:.1f} "
        f"bytes per event waiting in the stream, {m['raw_bytes_per_event']:.1f} bytes per raw "
        f"event kept, {m['counter_mb_per_system_hour']:.2f} MB of counters per system-hour at "
        f"{m['events_per_s_of_that_hour']:.0f} events/s (INFO memory / MEMORY USAGE)."
    )


def derived(summary: dict[str, dict[str, Any]]) -> list[str]:
    """The ratios the targets are stated in, from the medians."""
    out = ["Derived from the medians:", ""]
    for n in (1, 10, 100, 1000):
        lso, floor, naive = (_median(summary, f"ingest_{n}_{k}", "req_s")
                             for k in ("lso", "floor", "naive"))  # fmt: skip
        if lso and floor and naive:
            out.append(f"- ingest N={n}: LSO/floor {lso / floor:.2f}, LSO/naive {lso / naive:.2f}")
    applying, naive = (_median(summary, f"ingest_100_{k}", "req_s")
                       for k in ("lso_applying", "naive"))  # fmt: skip
    if applying and naive:
        out.append(f"- ingest N=100 with the worker applying: LSO/naive {applying / naive:.2f}")
    for workers in (1, 2, 4):
        name = f"drain_{workers}w"
        command_us = _median(summary, name, "store_us_per_event")
        cpu_us = _median(summary, name, "store_cpu_us_per_event")
        if command_us is not None and cpu_us is not None:
            out.append(
                f"- drain with {workers} worker(s): the store spent {command_us:.2f} µs of "
                f"apply-path command time (EVALSHA + XREADGROUP) and {cpu_us:.2f} µs of "
                "main-thread CPU per applied event"
            )
    sustained = summary.get("e2e_sustained")
    if sustained:
        backlog = _median(summary, "e2e_sustained", "backlog_end_s")
        out.append(
            f"- end to end: {_median(summary, 'e2e_sustained', 'events_s') or 0:,.0f} events/s "
            f"offered and accepted for the run, applied "
            f"{_median(summary, 'e2e_sustained', 'applied_s') or 0:,.0f}/s, backlog at the end "
            f"{backlog or 0:.2f} s of traffic, bounded (< 2 s) in runs: {sustained['bounded']}"
        )
    for window in ("5 min", "24 h"):
        big = _median(summary, f"health {window}, 1e+07 events, idle, 1c", "p50_ms")
        small = _median(summary, f"health {window}, 1e+03 events, idle, 1c", "p50_ms")
        if big and small:
            out.append(f"- health {window}: cost ratio 10^7/10^3 events (p50) {big / small:.2f}")
    out += adapters.ratio_lines(lambda name, measure: _median(summary, name, measure))
    day = _median(summary, "health 24 h, 1e+07 events, idle, 1c", "p50_ms")
    five = _median(summary, "health 5 min, 1e+07 events, idle, 1c", "p50_ms")
    if day and five:
        out.append(f"- health 10^7 events: 24 h / 5 min (p50) {day / five:.2f}")
    return out
