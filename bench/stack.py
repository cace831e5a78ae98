"""The LSO stack under test: embedded Valkey, one `lso api` and one `lso worker` process, and on
request more workers, `lso jobs` processes and baselines.

Everything is started by `Stack.start()` and stopped by `Stack.close()` (in the order started:
API first, then the workers and jobs, then the store), whatever happened in between.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import redis

from bench.procs import spawn, stop
from lso.embedded import EmbeddedValkey, free_port
from shared.store import keys

PARTITIONS = 1
STOP_GRACE_S = 15.0


class StackError(RuntimeError):
    pass


def _lso_command() -> list[str]:
    script = Path(sys.executable).with_name("lso")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lso.cli"]


def _child_env(redis_url: str) -> dict[str, str]:
    """The caller's environment without its LSO_ settings: every run uses the defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSO_")}
    env.update(LSO_REDIS_URL=redis_url, LSO_PARTITIONS=str(PARTITIONS), LSO_LOG_LEVEL="INFO")
    # Figures are of the data path; wrk's script sends no key. With auth on, a request costs one
    # more lookup, cached per key for a second (api/auth.py).
    env.update(LSO_AUTH="off")
    # Ingest is measured with the workers stopped (its own cost, not the worker's competing for
    # the same two cores): the backlog that builds up must not be shed.
    env.update(LSO_MAX_LAG_EVENTS="100000000")
    return env


class Stack:
    def __init__(self, work_dir: Path, logs_dir: Path) -> None:
        self.work_dir = work_dir
        self.logs_dir = logs_dir
        self.valkey = EmbeddedValkey(work_dir / "valkey")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.store: redis.Redis | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.exit_codes: dict[str, int | None] = {}
        self._logs: list[IO[bytes]] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout_s: float = 30.0) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        url = self.valkey.start(dict(os.environ))
        self.store = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        env = _child_env(url)
        lso = _lso_command()
        self.env = env
        self._spawn("api", [*lso, "api", "--host", "127.0.0.1", "--port", str(self.port)], env)
        self.start_workers(1)
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_alive()
            try:
                status, body = self.request("GET", "/readyz", timeout_s=1)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"/readyz not ready after {timeout_s:.0f} s; see {self.logs_dir}")
            time.sleep(0.1)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.logs_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in close())
        self._logs.append(log)
        self.procs[name] = spawn(argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    def start_workers(self, count: int) -> None:
        """Start `count` more `lso worker` processes (named worker, worker-2, ...)."""
        for _ in range(count):
            n = sum(1 for name in self.procs if name.startswith("worker")) + 1
            name = "worker" if n == 1 else f"worker-{n}"
            self._spawn(name, [*_lso_command(), "worker"], self.env)

    def start_jobs(self, count: int) -> None:
        """Start `count` more `lso jobs` processes (named jobs, jobs-2, ...): the evaluator,
        notifications and retention, as `lso up` runs them. `stop_jobs()` ends them."""
        for _ in range(count):
            n = sum(1 for name in self.procs if name.startswith("jobs")) + 1
            name = "jobs" if n == 1 else f"jobs-{n}"
            self._spawn(name, [*_lso_command(), "jobs"], self.env)

    def stop_jobs(self) -> None:
        for name in [n for n in self.procs if n.startswith("jobs")]:
            self.stop(name)

    def stop_workers(self) -> None:
        for name in [n for n in self.procs if n.startswith("worker")]:
            self.stop(name)

    def stop(self, name: str) -> None:
        self.exit_codes[name] = stop(self.procs.pop(name), name, STOP_GRACE_S)

    def start_baseline(self, name: str, timeout_s: float = 30.0) -> str:
        """Start one of bench/baselines.py under uvicorn (one process); returns its base URL."""
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", f"bench.baselines:{name}", "--port", str(port),
                "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]  # fmt: skip
        self._spawn(name, argv, self.env)
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_alive()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return f"http://127.0.0.1:{port}"
            except OSError:
                if time.monotonic() > deadline:
                    raise StackError(f"{name} not listening after {timeout_s:.0f} s") from None
                time.sleep(0.1)

    def start_api(self, name: str, env: dict[str, str], timeout_s: float = 30.0) -> int:
        """Start one more `lso api` on the same store, with `env` over the stack's settings (e.g.
        auth on); returns its port once /readyz answers 200. `stop(name)` ends it."""
        port = free_port()
        argv = [*_lso_command(), "api", "--host", "127.0.0.1", "--port", str(port)]
        self._spawn(name, argv, {**self.env, **env})
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_alive()
            try:
                if self.request("GET", "/readyz", timeout_s=1, port=port)[0] == 200:
                    return port
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{name} not ready after {timeout_s:.0f} s; see {self.logs_dir}")
            time.sleep(0.1)

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def close(self) -> None:
        for name in list(self.procs):
            self.exit_codes[name] = stop(self.procs.pop(name), name, STOP_GRACE_S)
        if self.store is not None:
            self.store.close()
        self.valkey.stop()
        if self.valkey.process is not None:
            self.exit_codes["valkey"] = self.valkey.process.returncode
        for log in self._logs:
            log.close()
        valkey_log = self.valkey.data_dir / "valkey.log"
        if valkey_log.exists():
            shutil.copy(valkey_log, self.logs_dir / "valkey.log")

    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StackError(f"`lso {name}` exited with {proc.returncode}; see {self.logs_dir}")

    # -- HTTP ------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        timeout_s: float = 10.0,
        *,
        port: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One JSON request to the stack's API (or the one on `port`); (status, decoded body)."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout_s)
        try:
            payload = None if body is None else json.dumps(body).encode()
            sent = {"Content-Type": "application/json"} if payload else {}
            conn.request(method, path, body=payload, headers={**sent, **(headers or {})})
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def register(self, name: str) -> int:
        status, body = self.request("POST", "/systems", {"name": name})
        if status not in (200, 201):
            raise StackError(f"POST /systems answered {status}: {body}")
        return int(body["system_id"])

    def health(self, system_id: int, window_s: int | None = None) -> dict[str, Any]:
        query = f"?window_seconds={window_s}" if window_s else ""
        status, body = self.request("GET", f"/systems/{system_id}/health{query}")
        if status != 200:
            raise StackError(f"GET health answered {status}: {body}")
        return dict(body)

    # -- store -----------------------------------------------------------------------------------

    def _redis(self) -> redis.Redis:
        if self.store is None:
            raise StackError("stack not started")
        return self.store

    def counts(self) -> tuple[int, int]:
        """(events appended by the API, events applied or dead-lettered by workers), all time."""
        events_in = events_out = 0
        for p in range(PARTITIONS):
            got_in, got_out = self._redis().hmget(
                keys.partition_stats(p), ["events_in", "events_out"]
            )
            events_in += int(got_in or 0)
            events_out += int(got_out or 0)
        return events_in, events_out

    def dead_letters(self) -> int:
        return sum(int(self._redis().xlen(keys.dead_letters(p))) for p in range(PARTITIONS))

    def drain(self, timeout_s: float) -> float:
        """Wait until every appended event is applied; returns the seconds it took. The exact
        counters are read from the store (/readyz caches its answer for a second)."""
        start = time.monotonic()
        while True:
            self.check_alive()
            events_in, events_out = self.counts()
            if events_out >= events_in:
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise StackError(
                    f"backlog of {events_in - events_out} events not drained in {timeout_s:.0f} s"
                )
            time.sleep(0.05)

    def readyz(self) -> dict[str, Any]:
        status, body = self.request("GET", "/readyz")
        return {"status_code": status, **(body or {})}

    def used_memory(self) -> int:
        """The store's INFO memory `used_memory`, in bytes."""
        return int(self._redis().info("memory")["used_memory"])

    def store_stats(self) -> dict[str, Any]:
        info = self._redis().info()
        wanted = ("used_memory_human", "used_memory_peak_human", "aof_rewrites")
        return {**{k: info.get(k) for k in wanted}, "keys": info.get("db0", {}).get("keys", 0)}

    def server_version(self) -> str:
        info = self._redis().info("server")
        if "valkey_version" in info:
            return f"valkey {info['valkey_version']}"
        return f"{info.get('server_name', 'redis')} {info.get('redis_version', '?')}"
