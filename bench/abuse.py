"""Abuse: what one client can do to another tenant's ingest (the four cases of issue 14).

The cases run against a second `lso api` on the stack's store, started with auth on (an admin token
of its own; every tenant registers its own system and sends with that system's ingest key) and
LSO_HTTP_HEADER_TIMEOUT_S=1, so that slow clients are cut within the scenario. The workers are
stopped, as for the ingest rows (the API's own cost); the backlog is applied afterwards, and every
tenant's health total is then checked against the 202s its load generator saw.

1. CPU amplification: the tenant's ingest (wrk, 4 connections, 100-event batches) alone, then
   while 4 clients (one wrk) send a gzipped body of 5 000 all-wrong events to their own system
   in a loop; the 422's size and time, sent alone.
2. Connection pool: 500 connections (one wrk) each sending 100-event batches: shares of 202, of
   503 with Retry-After, and of anything else (other statuses, socket errors).
3. Probe flood: one ingest connection alone, then while 300 connections poll
   `GET /systems/{id}/health?probe=1` without a key (one wrk); the 503s the ingest client got.
4. Slow clients: one ingest connection alone, then while 200 connections send headers a byte at a
   time and 10 an unfinished 16 MiB header (bench/floods.py, a process of its own); the API
   process's VmRSS growth (peak during the flood minus just before it).

"Alone" is the mean of a run just before and one just after the abusive load, so that a drift of
the machine during the case (other processes on the same cores) does not pass for its effect.
Load generators are wrk or bench/floods.py processes, never threads of this one.
"""

import gzip
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bench import wrk
from bench.procs import spawn, stop

if TYPE_CHECKING:
    from bench.run import Bench

API_NAME = "api-abuse"
HEADER_TIMEOUT_S = 1.0
BATCH = 100
ATTACK_EVENT = {"ts": 1, "event_type": 2, "status": 3, "latency_ms": "x"}
ATTACK_EVENTS = 5000
REJECTED_SAMPLES = 10
RAMP_S = 0.5  # the abusive load runs this long before the measured ingest starts
ACCOUNTING_WINDOW_S = 86_400
NOT_SLOWED = 0.9  # "not slowed" of case 4, read as: at least 90 % of the rate alone
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sizes:
    tenant_conns: int = 4  # the tenant of case 1: as many connections as the abusers
    abusers: int = 4
    pool_conns: int = 500
    probe_conns: int = 300
    slow: int = 200
    big: int = 10
    big_bytes: int = 16 * 2**20


FULL = Sizes()
SMOKE = Sizes(pool_conns=50, probe_conns=30, slow=20, big=2)


class Load(Protocol):
    """An abusive load in a process of its own: runs inside the `with`, `result()` waits."""

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: object) -> None: ...
    def result(self) -> Any: ...
    @property
    def pid(self) -> int: ...


@dataclass(frozen=True)
class Compared:
    before: wrk.WrkResult
    during: wrk.WrkResult
    after: wrk.WrkResult
    load: Any  # the load's own result
    load_cores: float  # CPU the load's process used while the tenant's `during` ran, in cores

    @property
    def alone_events_s(self) -> float:
        return (_events_s(self.before) + _events_s(self.after)) / 2

    @property
    def ratio(self) -> float:
        return _events_s(self.during) / max(self.alone_events_s, 1e-9)

    def figures(self) -> dict[str, float]:
        during = _events_s(self.during)
        return {"alone_events_s": self.alone_events_s, "during_events_s": during,
                "ratio": self.ratio, "load_cores": self.load_cores}  # fmt: skip

    def runs(self) -> list[wrk.WrkResult]:
        return [self.before, self.during, self.after]


class Abuse:
    """One run of the four cases against the API on `port` (admin key `admin`)."""

    def __init__(self, bench: "Bench", port: int, admin: str, sizes: Sizes) -> None:
        self.bench = bench
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.admin = admin
        self.sizes = sizes
        self.d = bench.opts.duration_s
        self.batch = bench.body_file(BATCH)
        self.attack = bench.work_dir / "abuse-attack.json.gz"
        body = {"events": [ATTACK_EVENT] * ATTACK_EVENTS}
        self.attack.write_bytes(gzip.compress(json.dumps(body).encode()))
        # system -> (case, events of the 202s seen, events that may have been in flight at the end)
        self.counted: dict[int, tuple[str, int, int]] = {}

    # -- tenants and loads -----------------------------------------------------------------------

    def tenant(self, name: str) -> tuple[int, dict[str, str]]:
        """A new system and the headers of its ingest key."""
        status, body = self.bench.stack.request(
            "POST", "/systems", {"name": f"{name}-{time.monotonic_ns()}"},
            port=self.port, headers={"Authorization": f"Bearer {self.admin}"},
        )  # fmt: skip
        if status != 201:
            raise RuntimeError(f"POST /systems on the abuse API answered {status}: {body}")
        return int(body["system_id"]), {"Authorization": f"Bearer {body['ingest_key']['token']}"}

    def sender(
        self,
        system_id: int,
        headers: dict[str, str],
        conns: int,
        duration_s: float,
        body: Path | None = None,
    ) -> wrk.Running:
        """wrk posting `body` (a valid 100-event batch by default) to the system's events."""
        return wrk.Running(
            self.bench.wrk_path, f"{self.base_url}/systems/{system_id}/events", method="POST",
            body_file=body or self.batch, duration_s=duration_s, connections=conns, threads=1,
            headers=headers,
        )  # fmt: skip

    def ingest(self, system_id: int, key: dict[str, str], conns: int, case: str) -> wrk.WrkResult:
        with self.sender(system_id, key, conns, self.d) as running:
            res = running.result()
        self._count(system_id, case, res, conns)
        return res

    def _count(self, system_id: int, case: str, res: wrk.WrkResult, conns: int) -> None:
        _, seen, slack = self.counted.get(system_id, (case, 0, 0))
        self.counted[system_id] = (case, seen + res.ok_requests * BATCH, slack + conns * BATCH)

    def compared(
        self, sid: int, key: dict[str, str], conns: int, case: str, load: Load
    ) -> Compared:
        """The tenant's ingest alone, during `load` (from RAMP_S after its start), alone again."""
        before = self.ingest(sid, key, conns, case)
        with load:
            time.sleep(RAMP_S)
            cpu_before, start = cpu_s(load.pid), time.monotonic()
            during = self.ingest(sid, key, conns, case)
            cores = (cpu_s(load.pid) - cpu_before) / (time.monotonic() - start)
            self.bench.stack.check_alive()
            loaded = load.result()
        after = self.ingest(sid, key, conns, case)
        return Compared(before, during, after, loaded, cores)

    # -- the cases -------------------------------------------------------------------------------

    def amplification(self) -> dict[str, Any]:
        sz = self.sizes
        sid, key = self.tenant("abuse-tenant")
        bad_sid, bad_key = self.tenant("abuse-abuser")
        gzipped = {**bad_key, "Content-Encoding": "gzip"}
        attack = self.sender(bad_sid, gzipped, sz.abusers, self.d + 2 * RAMP_S, self.attack)
        c = self.compared(sid, key, sz.tenant_conns, "amplification", attack)
        rejected = self._rejected(bad_sid, gzipped)
        return self._row(
            "amplification",
            f"CPU amplification: tenant's ingest ({sz.tenant_conns} conns) while {sz.abusers} "
            f"clients loop a gzipped body of {ATTACK_EVENTS:,} all-wrong events",
            sz.tenant_conns,
            c.runs(),
            {
                **c.figures(),
                "abuse_req_s": c.load.requests_per_s,
                "rejected_bytes": rejected["bytes"],
                "rejected_ms": rejected["ms"],
                "rejected_body_bytes": self.attack.stat().st_size,
            },
            "alone {alone_events_s} events/s, during {during_events_s}, ratio {ratio}; abusers "
            "{abuse_req_s} req/s (their wrk: {load_cores} of a core); the 422 to a "
            "{rejected_body_bytes}-byte body: {rejected_bytes} bytes in {rejected_ms} ms",
            "ratio ≥ 0.7",
            c.ratio >= 0.7,
            extra={"abusers": c.load.as_dict(), "rejected": rejected},
        )

    def _rejected(self, sid: int, headers: dict[str, str]) -> dict[str, Any]:
        """The answer to the abusive body, sent alone: status, size, median time."""
        body = self.attack.read_bytes()
        headers = {**headers, "Content-Type": "application/json"}
        times, size, status, answer = [], 0, 0, b""
        for _ in range(REJECTED_SAMPLES):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                start = time.perf_counter()
                conn.request("POST", f"/systems/{sid}/events", body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
                times.append((time.perf_counter() - start) * 1000)
                size, status = len(answer), resp.status
            finally:
                conn.close()
        doc = json.loads(answer) if answer else {}
        if status != 422:
            self.bench.problems.append(f"abuse: the all-wrong body answered {status}, not 422")
        return {
            "status": status,
            "bytes": size,
            "ms": statistics.median(times),
            "errors_named": len(doc.get("detail", [])),
            "truncated": bool(doc.get("truncated")),
        }

    def pool(self) -> dict[str, Any]:
        conns = self.sizes.pool_conns
        sid, key = self.tenant("abuse-pool")
        with self.sender(sid, key, conns, self.d) as running:
            res = running.result()
        self._count(sid, "pool", res, conns)
        codes = {int(c): n for c, n in res.non2xx_codes.items()}
        sockets = res.error_count - res.non2xx
        total = max(res.requests + sockets, 1)
        busy = codes.get(503, 0)
        other = res.non2xx - busy + sockets
        pct_202 = 100 * res.ok_requests / total
        return self._row(
            "pool",
            f"connection pool: {conns} connections each sending 100-event batches",
            conns,
            [],
            {
                "pct_202": pct_202,
                "pct_503": 100 * busy / total,
                "responses_503": busy,
                "retry_after": res.retry_after,
                "other": other,
                "req_s": res.requests_per_s,
                "p99_ms": res.latency_ms["p99"],
            },
            "202: {pct_202} % of answers, 503: {pct_503} % ({responses_503} answers, "
            "{retry_after} with Retry-After), other statuses and socket errors: {other}; "
            "{req_s} req/s, p99 {p99_ms} ms",
            "≥ 95 % 202, the rest 503 with Retry-After",
            pct_202 >= 95 and other == 0 and res.retry_after == busy,
            extra={"wrk": res.as_dict(), "first_non2xx": res.non2xx_sample},
        )

    def probe_flood(self) -> dict[str, Any]:
        conns = self.sizes.probe_conns
        sid, key = self.tenant("abuse-probed")
        flood = wrk.Running(
            self.bench.wrk_path, f"{self.base_url}/systems/{sid}/health?probe=1", method="GET",
            body_file=None, duration_s=self.d + 2 * RAMP_S, connections=conns, threads=1,
        )  # fmt: skip
        c = self.compared(sid, key, 1, "probe flood", flood)
        busy = c.during.non2xx_codes.get("503", 0)
        return self._row(
            "probe_flood",
            f"probe flood: 1 ingest connection while {conns} connections poll "
            "`health?probe=1` without a key",
            1,
            c.runs(),
            {**c.figures(), "ingest_503": busy, "probes_s": c.load.requests_per_s},
            "alone {alone_events_s} events/s, during {during_events_s}, ratio {ratio}; "
            "503s to the ingest client: {ingest_503}; probes answered {probes_s}/s (their wrk: "
            "{load_cores} of a core)",
            "ratio ≥ 0.5, no 503 to the ingest client",
            c.ratio >= 0.5 and busy == 0,
            extra={"probes": c.load.as_dict()},
        )

    def slow_clients(self) -> dict[str, Any]:
        sz = self.sizes
        sid, key = self.tenant("abuse-slowed")
        argv = [sys.executable, "-m", "bench.floods", "--port", str(self.port),
                "--slow", str(sz.slow), "--big", str(sz.big), "--big-bytes", str(sz.big_bytes),
                "--duration", f"{self.d + 2 * RAMP_S:g}"]  # fmt: skip
        flood = SlowFlood(argv, self.bench.stack.pid(API_NAME), self.d + 60)
        c = self.compared(sid, key, 1, "slow clients", flood)
        counts, before_kb, peak_kb = c.load
        growth_mb = (peak_kb - before_kb) / 1024
        return self._row(
            "slow_clients",
            f"slow clients: 1 ingest connection while {sz.slow} connections send headers a byte "
            f"at a time and {sz.big} an unfinished {sz.big_bytes // 2**20} MiB header "
            f"(LSO_HTTP_HEADER_TIMEOUT_S={HEADER_TIMEOUT_S:g})",
            1,
            c.runs(),
            {
                **c.figures(),
                "rss_before_mb": before_kb / 1024,
                "rss_growth_mb": growth_mb,
                "cut": sum(n for k, n in counts.items() if k.startswith("answered_")),
            },
            "API VmRSS {rss_before_mb} MB, peak growth {rss_growth_mb} MB; ingest alone "
            "{alone_events_s} events/s, during {during_events_s}, ratio {ratio}; slow "
            "connections answered and closed by the API: {cut} (bench.floods: {load_cores} of a "
            "core)",
            f"RSS growth < 20 MB; ingest not slowed (ratio ≥ {NOT_SLOWED:g})",
            growth_mb < 20 and c.ratio >= NOT_SLOWED,
            extra={"flood": counts},
        )

    # -- rows ------------------------------------------------------------------------------------

    def _row(
        self,
        case: str,
        label: str,
        conns: int,
        tenant: list[wrk.WrkResult],
        figures: dict[str, float],
        template: str,
        target: str,
        met: bool,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        """A row for bench/report.py: `figures` are aggregated over runs and put into
        `template`; the tenant's own non-2xx and socket errors are problems."""
        for res in tenant:
            sockets = res.error_count - res.non2xx
            if res.non2xx or sockets:
                self.bench.problems.append(
                    f"abuse, {case}: the tenant got {res.non2xx} non-2xx {res.non2xx_codes} and "
                    f"socket errors {res.socket_errors}; first: {res.non2xx_sample!r}"
                )
        return {
            "kind": "abuse",
            "label": label,
            "conns": conns,
            "figures": figures,
            "template": template,
            "target": target,
            "met": met,
            "requests": sum(r.requests for r in tenant),
            "non2xx": sum(r.non2xx for r in tenant),
            "socket_errors": sum(r.error_count - r.non2xx for r in tenant),
            "tenant": [r.as_dict() for r in tenant],
            **extra,
        }

    def check_counts(self) -> None:
        """Once the backlog is applied: each system holds at least the events of the 202s its
        load generator counted, and at most one batch per connection and run more (requests in
        flight when wrk stopped): a 503 wrote nothing."""
        for sid, (case, seen, slack) in self.counted.items():
            total = int(self.bench.stack.health(sid, ACCOUNTING_WINDOW_S)["total"])
            if not seen <= total <= seen + slack:
                self.bench.problems.append(
                    f"abuse, {case}: system {sid} holds {total} events, the 202s seen were "
                    f"{seen} (+ at most {slack} in flight)"
                )


def abuse(bench: "Bench", sizes: Sizes) -> dict[str, dict[str, Any]]:
    """The four cases, each once, as report rows (kind "abuse")."""
    s = bench.stack
    admin = secrets.token_urlsafe(32)
    s.stop_workers()
    port = s.start_api(
        API_NAME,
        {"LSO_AUTH": "on", "LSO_ADMIN_TOKEN": admin,
         "LSO_HTTP_HEADER_TIMEOUT_S": f"{HEADER_TIMEOUT_S:g}"},
    )  # fmt: skip
    try:
        cases = Abuse(bench, port, admin, sizes)
        warm_sid, warm_key = cases.tenant("abuse-warmup")
        cases.ingest(warm_sid, warm_key, sizes.tenant_conns, "warm-up")
        # Slow clients first: their RSS growth is measured on the smallest heap, before the
        # other cases leave free memory in it that would hide a growth.
        slow = cases.slow_clients()
        rows = {
            "abuse_amplification": cases.amplification(),
            "abuse_pool": cases.pool(),
            "abuse_probe_flood": cases.probe_flood(),
            "abuse_slow_clients": slow,
        }
    finally:
        s.stop(API_NAME)
    s.start_workers(1)
    s.drain(bench.opts.drain_timeout_s)
    cases.check_counts()
    return rows


class SlowFlood:
    """bench/floods.py in its own process, and the API's VmRSS while it runs; `result()` is
    (the flood's counts, VmRSS kB just before, peak VmRSS kB)."""

    def __init__(self, argv: list[str], api_pid: int, timeout_s: float) -> None:
        self._argv = argv
        self._timeout_s = timeout_s
        self._peak = RssPeak(api_pid)
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "SlowFlood":
        self._peak.__enter__()
        self._before_kb = self._peak.kb
        self._proc = spawn(self._argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            stop(self._proc, "bench.floods", grace_s=2)
        self._peak.__exit__()

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def result(self) -> tuple[dict[str, int], int, int]:
        assert self._proc is not None, "not started"
        out, err = self._proc.communicate(timeout=self._timeout_s)
        if self._proc.returncode != 0:
            raise RuntimeError(f"bench.floods exited with {self._proc.returncode}: {err.decode()}")
        self._peak.__exit__()
        counts = json.loads(out.decode().strip().splitlines()[-1])
        return counts, self._before_kb, self._peak.kb


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_kb(pid: int) -> int:
    """VmRSS of a process, in kB (/proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class RssPeak:
    """The highest VmRSS of `pid` while the block runs, sampled every `every_s`. A thread here
    only reads a file of another process: it does not load what it measures."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        self._pid = pid
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.kb = 0

    def __enter__(self) -> "RssPeak":
        self.kb = rss_kb(self._pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(5)
        self.kb = max(self.kb, rss_kb(self._pid))

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.kb = max(self.kb, rss_kb(self._pid))


def _events_s(res: wrk.WrkResult) -> float:
    return res.ok_requests * BATCH / res.duration_s if res.duration_s else 0.0
