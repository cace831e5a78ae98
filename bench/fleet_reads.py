"""The fleet as the API shows it: the overview (`GET /health`), polled until the jobs have
evaluated every system, and timed; each silent or failing system's transitions, against when
they were due; the rows of bench/fleet.py that carry their own figures and target.
"""

import http.client
import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bench.scenarios import _rank

if TYPE_CHECKING:
    from bench.run import Bench

EVALUATED_WITHIN_S = 120


def wait_evaluated(
    bench: "Bench", prefix: str, count: int, after_s: float, verdict: str = "OK"
) -> bool:
    """Poll the overview until the jobs have evaluated all `count` systems of `prefix` since
    `after_s` (a verdict with `since`: recorded by the jobs, not computed for the answer) and
    found them `verdict`. Systems that fell silent between two phases recover here."""
    deadline = time.monotonic() + EVALUATED_WITHIN_S
    while time.monotonic() < deadline:
        lines = overview(bench, f"?prefix={prefix}")
        if lines is None:
            continue
        done = [ln for ln in lines if ln["since"] and ln["health"] == verdict
                and _epoch_s(ln["evaluated_at"]) >= after_s]  # fmt: skip
        if len(done) == count:
            return True
        time.sleep(0.5)
    bench.problems.append(
        f"fleet: not every system was evaluated {verdict} within {EVALUATED_WITHIN_S} s ({prefix})"
    )
    return False


def overview(bench: "Bench", query: str, timeout_s: float = 30.0) -> list[dict[str, Any]] | None:
    """The overview's lines, or None (and a problem) if it did not answer within `timeout_s`:
    when the jobs fall behind, it evaluates every stale system itself."""
    try:
        status, body = bench.stack.request("GET", "/health" + query, timeout_s=timeout_s)
    except OSError as exc:
        bench.problems.append(f"fleet: GET /health{query}: {exc!r} after {timeout_s:g} s")
        return None
    if status != 200:
        raise RuntimeError(f"GET /health{query} answered {status}: {body}")
    return list(body["systems"])


def overview_rows(bench: "Bench") -> dict[str, dict[str, Any]]:
    """`GET /health` with 1 connection: all systems, the unhealthy ones, a page, the next page."""
    conn = http.client.HTTPConnection("127.0.0.1", bench.stack.port, timeout=60)
    try:
        conn.request("GET", "/health")
        full = conn.getresponse().read()
    except OSError as exc:
        bench.problems.append(f"fleet: GET /health for its size: {exc!r}")
        full = b'{"systems": []}'
    finally:
        conn.close()
    queries = {"all": "", "unhealthy": "?health=UNHEALTHY", "page": "?limit=100"}
    try:
        first = bench.stack.request("GET", "/health?limit=100", timeout_s=60)[1]
        queries["next_page"] = f"?limit=100&cursor={first['next_cursor']}"
    except OSError as exc:
        bench.problems.append(f"fleet: GET /health?limit=100 for a cursor: {exc!r}")
    rows = {}
    for name, query in queries.items():
        res = bench.run_wrk("/health" + query, "GET", None, 1, bench.opts.duration_s)
        row = bench.row("fleet", f"fleet: GET /health{query}, under the steady load", 1, res)
        if res.requests == 0:  # no answer within the figure: wrk's 0 ms is no latency
            bench.problems.append(f"fleet: GET /health{query}: no answer in {res.duration_s:.0f} s")
            row["p50_ms"] = row["p99_ms"] = float("inf")
        rows[f"fleet_overview_{name}"] = row
    lines = len(json.loads(full)["systems"])
    p50, p99 = rows["fleet_overview_all"]["p50_ms"], rows["fleet_overview_all"]["p99_ms"]
    rows["fleet_overview"] = case(
        f"fleet: GET /health, all {lines:,} systems, 1 connection, under the steady load",
        "p50 {p50_ms} ms, p99 {p99_ms} ms, {kib} KiB",
        {"p50_ms": p50, "p99_ms": p99, "kib": len(full) / 1024},
        "≤ 50 ms p50, ≤ 200 ms p99",
        p50 <= 50 and p99 <= 200,
    )
    pages = {n: rows[f"fleet_overview_{n}"]["p50_ms"] if f"fleet_overview_{n}" in rows
             else float("nan") for n in ("unhealthy", "page", "next_page")}  # fmt: skip
    rows["fleet_overview_filtered"] = case(
        "fleet: GET /health?health=UNHEALTHY, ?limit=100 and its next page, 1 connection",
        "p50 {unhealthy} ms, {page} ms, {next_page} ms",
        pages,
        "each ≤ 10 ms p50",
        all(p50 <= 10 for p50 in pages.values()),
    )
    return rows


def lateness(bench: "Bench", due_s: dict[int, float], changed_at: float) -> dict[int, float]:
    """Seconds from each system's due time to its first UNHEALTHY transition after the change
    (`GET /systems/{id}/transitions`); systems without one are left out."""
    out = {}
    for sid, due in due_s.items():
        _, body = bench.stack.request("GET", f"/systems/{sid}/transitions")
        ats = [_epoch_s(t["at"]) for t in body["transitions"] if t["to"] == "UNHEALTHY"]
        after = [at for at in ats if at >= changed_at - 1]
        if after:
            out[sid] = min(after) - due
    return out


def lateness_row(
    label: str, late: dict[int, float], count: int, others: int, what: str
) -> dict[str, Any]:
    ordered = sorted(late.values()) or [float("nan")]
    figures = {
        "p50_s": _rank(ordered, 0.5),
        "p99_s": _rank(ordered, 0.99),
        "max_s": ordered[-1],
        "detected": len(late),
        "systems": count,
        "others": others,
    }
    return case(
        label,
        "lateness p50 {p50_s} s, p99 {p99_s} s, max {max_s} s; detected {detected} of "
        "{systems}; other systems UNHEALTHY meanwhile: {others} (" + what + ")",
        figures,
        "p99 ≤ 2 s, all detected",
        len(late) == count and figures["p99_s"] <= 2.0,
    )


def case(
    label: str, template: str, figures: dict[str, float], target: str | None, met: bool | None
) -> dict[str, Any]:
    """A row with its own figures and target, as bench/report.py prints the abuse rows; `met`
    None when there is no target."""
    return {"kind": "fleet", "label": label, "conns": None, "template": template,
            "figures": figures, "target": target or "–", "met": met}  # fmt: skip


def _epoch_s(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
