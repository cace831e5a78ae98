"""`lso up`: run the store (embedded unless LSO_REDIS_URL is set), the API and N workers together.

An embedded store's address is left in the data dir (lso/local.py) for the other `lso` commands,
and the API's (lso/endpoint.py) for `lso status` and `lso tail`.

A child that dies is restarted with capped backoff; if the store dies everything stops. The first
SIGINT/SIGTERM stops the children in order (API and workers first, so workers finish their batch,
then the store, which fsyncs its AOF); a second signal kills them at once.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from lso import endpoint, local
from lso.children import spawn
from lso.cluster import EmbeddedCluster
from lso.embedded import EmbeddedValkey, data_dir_lock
from shared.backoff import Backoff
from shared.services.api_keys import create_sync, token_hash
from shared.settings import Settings
from shared.store import keys
from shared.store.client import sync_client

log = logging.getLogger("lso.up")

POLL_S = 0.2


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restart_at: float = 0.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=1.0, cap_s=30.0))


@dataclass
class UpOptions:
    host: str
    port: int
    workers: int
    api_processes: int
    data_dir: Path
    grace_s: float
    cluster_masters: int = 0
    job_processes: int = 2


class Supervisor:
    def __init__(self, options: UpOptions) -> None:
        self.options = options
        self.stopping = False
        self.killing = False
        self.env = dict(os.environ)
        lso = [sys.executable, "-m", "lso.cli"]
        self.children = [
            Child(
                "api",
                [
                    *lso,
                    "api",
                    "--host",
                    options.host,
                    "--port",
                    str(options.port),
                    "--processes",
                    str(options.api_processes),
                ],
            )
        ]
        self.children += [
            Child(f"worker-{i + 1}", [*lso, "worker"]) for i in range(options.workers)
        ]
        self.children += [
            Child(f"jobs-{i + 1}", [*lso, "jobs"]) for i in range(options.job_processes)
        ]
        self.store: EmbeddedValkey | EmbeddedCluster | None = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            self.killing = True
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        lock = None
        if "LSO_REDIS_URL" not in self.env:
            lock = data_dir_lock(self.options.data_dir)
            if self.options.cluster_masters:
                cluster_dir = self.options.data_dir / "cluster"
                self.store = EmbeddedCluster(cluster_dir, self.options.cluster_masters)
                self.env["LSO_REDIS_CLUSTER"] = "1"
            else:
                self.store = EmbeddedValkey(self.options.data_dir)
            self.env["LSO_REDIS_URL"] = self.store.start(self.env)
            local.write_record(
                self.options.data_dir, self.env["LSO_REDIS_URL"], bool(self.options.cluster_masters)
            )
        recorded = False
        try:
            self._admin_key()
            endpoint.write_record(self.options.data_dir, self.options.host, self.options.port)
            recorded = True
            for child in self.children:
                self._start(child)
            log.info(
                "LSO is up: API on http://%s:%d (docs at /docs), %d worker(s), %d jobs process(es)",
                self.options.host,
                self.options.port,
                self.options.workers,
                self.options.job_processes,
            )
            return self._watch()
        finally:
            self._stop_all()
            if recorded:
                endpoint.remove_record(self.options.data_dir)
            if lock is not None:
                local.remove_record(self.options.data_dir)
                os.close(lock)

    def _admin_key(self) -> None:
        """With auth on and no LSO_ADMIN_TOKEN, make sure an admin key exists and say where."""
        if self.env.get("LSO_AUTH", "on") == "off":
            log.warning("LSO_AUTH=off: the API accepts anyone as admin")
            return
        if self.env.get("LSO_ADMIN_TOKEN"):
            log.info("admin key: the LSO_ADMIN_TOKEN you set")
            return
        path = self.options.data_dir / endpoint.ADMIN_TOKEN
        # The children's store settings, read the way they read them.
        store = Settings(
            redis_url=self.env["LSO_REDIS_URL"],
            redis_cluster=self.env.get("LSO_REDIS_CLUSTER", "0"),
        )
        client = sync_client(store)
        created = False
        try:
            token = path.read_text().strip() if path.exists() else ""
            if not token or not client.hexists(keys.API_KEY_HASHES, token_hash(token)):
                token = create_sync(client, "admin", "created by lso up")
                self.options.data_dir.mkdir(parents=True, exist_ok=True)
                path.touch(mode=0o600)
                path.write_text(token + "\n")
                created = True
        finally:
            client.close()
        if not created:  # printed once, when made: later starts say where it is, not what
            log.info("admin key kept in %s (send it as 'Authorization: Bearer <key>')", path)
            return
        # Shown on the terminal only (never logged): it is the one credential a new user needs.
        print(f"LSO admin key: {token}", flush=True)
        print(f"  (stored in {path}; send it as 'Authorization: Bearer <key>')", flush=True)

    def _start(self, child: Child) -> None:
        child.process = spawn(child.argv, self.env)
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def _watch(self) -> int:
        while not self.stopping:
            code = self.store.exited() if self.store else None
            if code is not None:
                log.error("the embedded store exited (code %s); stopping", code)
                return 1
            now = time.monotonic()
            for child in self.children:
                code = child.process.poll() if child.process else None
                if child.process is not None and code is not None:
                    delay_s = child.backoff.next_delay_s()
                    log.error("%s exited with %s; restarting in %.1f s", child.name, code, delay_s)
                    child.process = None
                    child.restart_at = now + delay_s
                elif child.process is None and now >= child.restart_at:
                    self._start(child)
            time.sleep(POLL_S)
        return 0

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGKILL if self.killing else signal.SIGTERM)
        deadline = time.monotonic() + self.options.grace_s + 5.0
        for process in running:
            while process.poll() is None:
                if self.killing or time.monotonic() > deadline:
                    process.kill()
                time.sleep(0.05)
        if self.store:
            self.store.stop()
        log.info("LSO stopped")
