"""Machine description, aggregation over runs, and the Markdown report."""

import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

# Figures aggregated as median/min/max over runs, and counts summed over runs.
MEASURES = ("req_s", "events_s", "p50_ms", "p99_ms", "drain_s")
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
    """Scenario -> {measure: {median, min, max}, count: total} over all runs."""
    out: dict[str, dict[str, Any]] = {}
    for scenario in runs[0]:
        rows = [run[scenario] for run in runs]
        agg: dict[str, Any] = {k: rows[0][k] for k in ("kind", "events_per_request", "conns")}
        for measure in MEASURES:
            values = [row[measure] for row in rows if row.get(measure) is not None]
            if values:
                agg[measure] = {
                    "median": statistics.median(values),
                    "min": min(values),
                    "max": max(values),
                }
        for count in COUNTS:
            agg[count] = sum(row[count] for row in rows)
        out[scenario] = agg
    return out


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


def markdown(result: dict[str, Any]) -> str:
    cfg = result["config"]
    lines = [
        f"# LSO benchmark, {result['started_at']}",
        "",
        f"Machine: {machine_line(result['machine'])}",
        "",
        f"Stack: 1 `lso api` process, 1 `lso worker`, embedded Valkey (AOF, fsync everysec); "
        f"wrk {cfg['threads']} thread(s), {cfg['duration_s']:g} s per figure, "
        f"{cfg['runs']} runs. Cells: median (min–max) over runs; counts are totals over runs.",
        "",
        "| Scenario | Conns | req/s | events/s | p50 ms | p99 ms | drain s | requests | non-2xx "
        "| socket errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for agg in result["summary"].values():
        if agg["kind"] == "ingest":
            name = f"ingest, {agg['events_per_request']} event(s)/request"
        else:
            name = "health read"
        cells = [_cell(agg, m) for m in MEASURES]
        counts = [f"{agg[c]:,}" for c in COUNTS]
        lines.append(f"| {name} | {agg['conns']} | " + " | ".join(cells + counts) + " |")
    lines += ["", "Accounting (per run, after the stream drained):", ""]
    for i, acc in enumerate(result["accounting"], 1):
        verdict = "OK" if acc["ok"] else "MISMATCH"
        lines.append(
            f"- run {i}: {verdict}: health total {acc['health_total']:,}, events appended "
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
