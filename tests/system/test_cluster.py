"""LSO on a real 3-master Valkey cluster (lso/cluster.py): two API processes behind "a load
balancer" (clients spread over both), three workers of which one is killed holding entries, and
systems in every partition. Every health total must come out exact."""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lso.cluster import EmbeddedCluster
from shared.store import keys
from tests.support.processes import Spawn, kill_while_holding
from tests.support.stack import Client, Stack, raw_events_by_run
from tests.support.wait import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.process, pytest.mark.slow]

PARTITIONS = 8


@dataclass
class Seed:
    url: str


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EmbeddedCluster]:
    embedded = EmbeddedCluster(tmp_path / "cluster", masters=3)
    embedded.start({})
    yield embedded
    embedded.stop()


def pending_of(stack: Stack, worker_pid: int) -> int:
    """Entries held by the consumer of the worker process `worker_pid`, over every partition."""
    held = 0
    for p in range(stack.layout().streams):
        for consumer in stack.store.xinfo_consumers(keys.stream(p), keys.GROUP):  # type: ignore[union-attr]
            if f":{worker_pid}:" in consumer["name"].decode():
                held += int(consumer["pending"])
    return held


def test_two_apis_and_three_workers_on_a_cluster_keep_every_total_exact(
    spawn: Spawn, cluster: EmbeddedCluster
) -> None:
    env = {
        "LSO_REDIS_CLUSTER": "1",
        "LSO_PARTITIONS": str(PARTITIONS),
        "LSO_WORKER_READ_COUNT": "20",
    }
    stack = Stack(spawn, Seed(cluster.url), env).start(workers=3, apis=2)  # type: ignore[arg-type]
    systems = [stack.register(f"cluster-{i}") for i in range(2 * PARTITIONS)]
    assert {stack.partition(sid) for sid in systems} == set(range(PARTITIONS))
    nodes = {stack.store.get_node_from_key(keys.stream(p)).name for p in range(PARTITIONS)}  # type: ignore[union-attr]
    assert len(nodes) == 3, "the partitions are spread over every master"

    rng = random.Random(11)
    clients = [
        Client(stack, sid, [rng.randint(1, 80) for _ in range(60)], port=stack.ports[i % 2])
        for i, sid in enumerate(systems)
    ]
    for client in clients:
        client.start()

    victim = stack.workers[0]

    held = kill_while_holding(victim, lambda: pending_of(stack, victim.pid))
    assert held > 0

    for client in clients:
        client.join(120)
        assert not client.is_alive()
    stack.drained()
    wait_for(lambda: pending_of(stack, victim.pid) == 0, 30, "the dead worker's entries")

    for client in clients:
        health = stack.health(client.system_id)
        sent = sum(len(b.events) for b in client.acked)
        assert len(client.acked) == len(client.sizes)
        errors = sum(b.errors for b in client.acked)
        assert (health["total"], health["errors"]) == (sent, errors), client.system_id
        assert sum(raw_events_by_run(stack, client.system_id).values()) == sent
    answered_by = {port: stack.call("GET", "/readyz", port=port)[0] for port in stack.ports}
    assert answered_by == dict.fromkeys(stack.ports, 200)
    print(f"\n[cluster] systems={len(systems)} held_by_killed_worker={held}")
