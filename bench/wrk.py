"""Run wrk with bench/report.lua (or bench/rotate.lua, for a load spread over many paths) and
parse the JSON line its `done()` hook prints."""

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import spawn, stop

LUA_SCRIPT = Path(__file__).with_name("report.lua")
ROTATE_SCRIPT = Path(__file__).with_name("rotate.lua")
INSTALL_HINT = "wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu)."
_MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class WrkResult:
    duration_s: float
    requests: int
    non2xx: int
    non2xx_codes: dict[str, int]
    non2xx_sample: str
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    retry_after: int = 0  # non-2xx responses that carried Retry-After

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def ok_requests(self) -> int:
        return self.requests - self.non2xx

    @property
    def error_count(self) -> int:
        """Socket errors (connect/read/write/timeout) plus non-2xx responses."""
        sockets = sum(n for kind, n in self.socket_errors.items() if kind != "status")
        return sockets + self.non2xx

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 3),
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "non2xx": self.non2xx,
            "non2xx_codes": self.non2xx_codes,
            "non2xx_sample": self.non2xx_sample,
            "retry_after": self.retry_after,
            "socket_errors": self.socket_errors,
            "latency_ms": self.latency_ms,
        }


def find_wrk() -> str:
    """Path of the wrk binary, or exit with install instructions."""
    found = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
    if found is None:
        sys.exit(INSTALL_HINT)
    return found


def version(wrk: str) -> str:
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" [")[0] if first else "unknown"


def run(wrk: str, url: str, **options: Any) -> WrkResult:
    """One wrk run (options as for `Running`); the process is killed if this is interrupted."""
    with Running(wrk, url, **options) as running:
        return running.result()


class Running:
    """A wrk run in the background (for loads that overlap): started on entering, `result()`
    waits for its end; leaving the block kills it if it still runs. `headers` are extra request
    headers. With `paths_file` (one path a line), requests go to those paths in turn on the
    host of `url` (bench/rotate.lua: one Lua call per request, so compare such runs with runs
    that also use a paths file, if only of one line)."""

    def __init__(
        self,
        wrk: str,
        url: str,
        *,
        method: str,
        body_file: Path | None,
        duration_s: float,
        connections: int,
        threads: int,
        timeout_s: float = 30.0,
        delay_ms: float = 0.0,
        headers: dict[str, str] | None = None,
        paths_file: Path | None = None,
    ) -> None:
        script = LUA_SCRIPT if paths_file is None else ROTATE_SCRIPT
        self.argv = [
            wrk,
            f"--threads={min(threads, connections)}",
            f"--connections={connections}",
            f"--duration={max(1, round(duration_s))}s",
            f"--timeout={round(timeout_s)}s",
            f"--script={script}",
            url,
            "--",
            *([] if paths_file is None else [str(paths_file)]),
            method,
            str(body_file) if body_file else "-",
            f"{delay_ms:.3f}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self._wait_s = duration_s + timeout_s + 30
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Running":
        self._proc = spawn(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            stop(self._proc, "wrk", grace_s=2)

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def result(self) -> WrkResult:
        assert self._proc is not None, "not started"
        out, err = self._proc.communicate(timeout=self._wait_s)
        text = out.decode(errors="replace")
        if self._proc.returncode != 0:
            raise RuntimeError(
                f"wrk exited with {self._proc.returncode}: {err.decode(errors='replace')}"
            )
        line = next((ln for ln in text.splitlines() if ln.startswith(_MARKER)), None)
        if line is None:
            raise RuntimeError(f"wrk printed no {_MARKER.strip()} line:\n{text}")
        return _parse(json.loads(line[len(_MARKER) :]))


def _parse(raw: dict[str, Any]) -> WrkResult:
    lat = {k: round(v / 1000, 3) for k, v in raw["latency_us"].items()}
    return WrkResult(
        duration_s=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        non2xx=raw["non2xx"],
        non2xx_codes=raw["non2xx_codes"],
        non2xx_sample=raw["non2xx_sample"],
        socket_errors=raw["errors"],
        latency_ms=lat,
        retry_after=raw.get("retry_after", 0),
    )
