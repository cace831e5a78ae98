"""A whole LSO deployment as real processes (store, `lso api`, `lso worker`s) plus clients that
behave like ETL jobs, for the fault-injection tests."""

import http.client
import json
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from subprocess import Popen
from typing import Any

import redis
import redis.cluster

from lso.embedded import free_port
from shared.settings import Settings
from shared.store import layout
from tests.support.events import varied
from tests.support.processes import Spawn
from tests.support.servers import Server
from tests.support.store import backlog as partition_backlog
from tests.support.store import raw_rows
from tests.support.wait import wait_for

ADMIN_TOKEN = "lso_a_fault-tests-admin-token"
AUTH_HEADERS = {"content-type": "application/json", "authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Stack:
    """`server` is one store, or with LSO_REDIS_CLUSTER=1 in `env` a seed node of a cluster."""

    spawn: Spawn
    server: Server
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    api: Popen[bytes] | None = None
    apis: list[Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    workers: list[Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.env = {
            "LSO_REDIS_URL": self.server.url,
            "LSO_REDIS_TIMEOUT_MS": "500",
            "LSO_WORKER_BLOCK_MS": "100",
            "LSO_CLAIM_IDLE_MS": "1000",
            "LSO_TRIM_INTERVAL_S": "0.5",
            "LSO_ADMIN_TOKEN": ADMIN_TOKEN,
            **self.env,
        }
        self.store: redis.Redis | redis.cluster.RedisCluster
        if self.env.get("LSO_REDIS_CLUSTER") == "1":
            self.store = redis.cluster.RedisCluster.from_url(self.server.url, socket_timeout=2)
        else:
            self.store = redis.Redis.from_url(self.server.url, socket_timeout=2)

    def start(self, workers: int, apis: int = 1) -> "Stack":
        """`apis` API processes, each on its own port (as replicas behind a load balancer)."""
        self.ports = [self.port] + [free_port() for _ in range(apis - 1)]
        self.apis = [self.spawn("api", "--port", str(p), env=self.env) for p in self.ports]
        self.api = self.apis[0]
        self.workers = [self.start_worker() for _ in range(workers)]
        for port in self.ports:
            wait_for(lambda p=port: self.call("GET", "/readyz", port=p)[0] == 200, 30, "the API")
        return self

    def start_worker(self) -> Popen[bytes]:
        return self.spawn("worker", env=self.env)

    def restart_worker(self, index: int) -> None:
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(10)
        self.workers[index] = self.start_worker()

    def call(
        self, method: str, path: str, body: Any = None, port: int | None = None, **headers: str
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            payload = None if body is None else json.dumps(body).encode()
            conn.request(method, path, payload, {**AUTH_HEADERS, **headers})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def register(self, name: str) -> int:
        status, system = self.call("POST", "/systems", {"name": name})
        assert status in (200, 201), system
        return int(system["system_id"])

    def layout(self) -> layout.Layout:
        initial = int(self.env.get("LSO_PARTITIONS", Settings.model_fields["partitions"].default))
        return layout.load_sync(self.store, initial)

    def partition(self, system_id: int) -> int:
        found = self.layout().partition_of(system_id)
        assert found is not None, f"system {system_id} is not registered"
        return found

    def backlog(self) -> int:
        return sum(partition_backlog(self.store, p) for p in range(self.layout().streams))

    def drained(self, timeout_s: float = 120) -> float:
        """Wait until every appended event is applied; returns how long that took."""
        started = time.monotonic()
        wait_for(lambda: self.backlog() == 0, timeout_s, "the backlog to drain")
        return time.monotonic() - started

    def memory_bytes(self) -> int:
        return int(self.store.info("memory")["used_memory"])

    def health(self, system_id: int) -> dict[str, Any]:
        status, body = self.call("GET", f"/systems/{system_id}/health?window_seconds=3600")
        assert status == 200, body
        return body  # type: ignore[no-any-return]


@dataclass
class Batch:
    key: str
    events: list[dict[str, Any]]
    acked_at: float | None = None

    @property
    def errors(self) -> int:
        return sum(e["status"] == "error" for e in self.events)


class Client(threading.Thread):
    """An ETL job: sends batches with an Idempotency-Key and retries every non-2xx (and every
    connection failure) with the same key until it gets a 202, honouring Retry-After (capped).
    With `idempotent=False` it sends no key: then only LSO's outcomes keep retries exact."""

    def __init__(
        self,
        stack: Stack,
        system_id: int,
        sizes: list[int],
        max_wait_s: float = 0.5,
        pause_s: float = 0.0,
        port: int | None = None,
        idempotent: bool = True,
    ) -> None:
        super().__init__(daemon=True)
        self.idempotent = idempotent
        self.stack, self.system_id, self.sizes = stack, system_id, sizes
        self.port = port or stack.port
        self.max_wait_s, self.pause_s = max_wait_s, pause_s
        self.batches: list[Batch] = []
        self.statuses: Counter[int] = Counter()  # 0: connection failure
        self.refusals: list[tuple[int, bytes]] = []  # (status, body) of every non-202 answer
        self.stopping = False

    def run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        for n in self.sizes:
            if self.stopping:
                break
            key = uuid.uuid4().hex
            batch = Batch(key, varied(n, seed=len(self.batches), run_id=key))
            body = json.dumps({"events": batch.events}).encode()
            while not self.stopping:
                try:
                    conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, 10)
                    headers = {"content-type": "application/json",
                               "authorization": f"Bearer {ADMIN_TOKEN}"}  # fmt: skip
                    if self.idempotent:
                        headers["idempotency-key"] = batch.key
                    conn.request("POST", f"/systems/{self.system_id}/events", body, headers)
                    response = conn.getresponse()
                    answer = response.read()
                    status, retry_after = response.status, response.getheader("retry-after")
                    if status != 202:
                        self.refusals.append((status, answer))
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn, status, retry_after = None, 0, None
                self.statuses[status] += 1
                if status == 202:
                    batch.acked_at = time.monotonic()
                    time.sleep(self.pause_s)
                    break
                time.sleep(min(float(retry_after or 0.05), self.max_wait_s))
            self.batches.append(batch)
        if conn is not None:
            conn.close()

    @property
    def acked(self) -> list[Batch]:
        return [b for b in self.batches if b.acked_at is not None]


def raw_events_by_run(stack: Stack, system_id: int) -> Counter[str]:
    """How many raw events of each run_id (= batch key) the store holds for the system."""
    rows = raw_rows(stack.store, system_id, stack.partition(system_id))
    return Counter(row[5] for row in rows)
