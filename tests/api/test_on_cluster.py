"""Every route of the API, in process, against a real 3-master cluster (Valkey, and Redis when
installed): the commands, pipelines, transactions and scripts of each route must work there."""

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.cluster
from fastapi.testclient import TestClient

from api.main import create_app
from lso.cluster import EmbeddedCluster
from shared.settings import Settings
from shared.store import keys
from shared.store.client import sync_client
from tests.shared.adapters import otlp_requests as req
from tests.support.clock import Clock
from tests.support.events import event
from tests.support.jobs import run_queued
from tests.support.receiver import Receiver
from tests.support.servers import available
from tests.support.settings import make_settings
from tests.support.wait import wait_for
from worker.consumer import Worker
from worker.jobs import context, groups, late_ends
from worker.jobs.ticker import Ticker

pytestmark = pytest.mark.cluster

ADMIN = "lso_a_cluster-test-admin-token"


@pytest.fixture(scope="module", params=sorted(available()))
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedCluster]:
    """A 3-master cluster of each server installed (Valkey always, Redis when present)."""
    binary = Path(available()[request.param])
    embedded = EmbeddedCluster(Path(tmp_path_factory.mktemp("cluster")), 3, binary)
    embedded.start({})
    yield embedded
    embedded.stop()


def test_every_route_works_on_a_cluster(cluster: EmbeddedCluster, clock: Clock) -> None:
    settings = make_settings(
        cluster.url, redis_cluster=True, partitions=6, auth="on", admin_token=ADMIN
    )
    admin = {"authorization": f"Bearer {ADMIN}"}
    store = sync_client(settings)
    assert isinstance(store, redis.cluster.RedisCluster)

    def drain() -> None:
        Worker(store, settings, burst=True).run()

    with TestClient(create_app(settings), headers=admin) as api:
        api.app.state.clock = clock  # type: ignore[attr-defined]
        created = [api.post("/systems", json={"name": f"c-{i}"}).json() for i in range(6)]
        sids = [s["system_id"] for s in created]
        assert len({store.get_node_from_key(keys.system_meta(s % 6, s)).name for s in sids}) > 1
        ingest = {"authorization": f"Bearer {created[0]['ingest_key']['token']}"}
        for sid in sids:
            batch = [event(clock.now - timedelta(seconds=i), run_id="r1") for i in range(20)]
            batch[0]["status"] = "error"
            headers = ingest if sid == sids[0] else admin
            response = api.post(f"/systems/{sid}/events", json={"events": batch}, headers=headers)
            assert response.status_code == 202, response.text
        other = api.post(f"/systems/{sids[1]}/events", json={"events": []}, headers=ingest)
        assert other.status_code == 404, "a key of one system does not reach another"
        drain()

        sid = sids[0]
        health = api.get(f"/systems/{sid}/health").json()
        assert (health["total"], health["errors"]) == (20, 1)
        assert api.get(f"/systems/{sid}/health").json() == health  # served by the memo
        history = api.get(f"/systems/{sid}/health/history", params={"window_seconds": 60})
        assert history.status_code == 200, history.text
        assert len(api.get(f"/systems/{sid}/events").json()["events"]) == 20
        assert api.get(f"/systems/{sid}/runs").json()["runs"][0]["run_id"] == "r1"
        assert api.get("/health").status_code == 200
        assert api.get("/systems").json()["systems"][0]["name"] == "c-0"

        # The adapters' scripts, and the jobs' sweep of ends that came before their start.
        late = {"eventType": "COMPLETE", "eventTime": clock.now.isoformat(),
                "run": {"runId": "r-late"}, "job": {"namespace": "c", "name": "late"}}  # fmt: skip
        start = late | {"eventType": "START",
                        "eventTime": (clock.now - timedelta(seconds=2)).isoformat()}  # fmt: skip
        for report in (late, start, late | {"run": {"runId": "r-lonely"}}):
            assert api.post("/api/v1/lineage", json=report).status_code == 200
        after_wait_ms = int(clock.now.timestamp() * 1000) + settings.run_start_wait_s * 1000
        assert asyncio.run(late_ends._count(settings, after_wait_ms)) == (1, 0)
        spans = req.traces({"c-otlp": [req.span(clock.now), req.span(clock.now)]})
        exported = api.post("/v1/traces", content=spans.SerializeToString(),
                            headers={"content-type": "application/x-protobuf"})  # fmt: skip
        assert (exported.status_code, exported.content) == (200, b"")
        drain()
        for name, total in (("c/late", 2), ("c-otlp", 2)):
            found = api.get(f"/systems/by-name/{name}").json()["system_id"]
            assert api.get(f"/systems/{found}/health").json()["total"] == total

        policy = api.put(f"/systems/{sid}/policy", json={"window_seconds": 120})
        assert policy.status_code == 200, policy.text
        assert api.get(f"/systems/{sid}/health").json()["window_seconds"] == 120
        limit = api.put(f"/systems/{sid}/rate-limit", json={"events_per_s": 5})
        assert limit.status_code == 200, limit.text

        key = api.post(f"/systems/{sid}/keys", json={"kind": "read"}).json()
        assert len(api.get(f"/systems/{sid}/keys").json()["keys"]) == 2
        assert api.delete(f"/systems/{sid}/keys/{key['key_id']}").status_code == 204

        p = sids[1] % 6
        store.xadd(keys.stream(p), {"v": "9"})  # undecodable: dead-lettered
        drain()
        dead = api.get("/admin/dead-letters").json()["dead_letters"]
        assert len(dead) == 1 and dead[0]["error"].startswith("undecodable")
        assert api.post("/admin/dead-letters/replay", json={"ids": None}).json() == {"replayed": 1}
        drain()
        assert len(api.get("/admin/dead-letters").json()["dead_letters"]) == 1

        wait_for(lambda: api.get("/readyz").status_code == 200, 10, "/readyz", interval_s=0.05)
    store.close()


def test_health_changes_are_notified_through_rq_on_a_cluster(
    cluster: EmbeddedCluster, receiver: Receiver, clock: Clock
) -> None:
    settings = make_settings(
        cluster.url, redis_cluster=True, partitions=6, allow_private_webhooks=True,
        notify_min_interval_s=0,
    )  # fmt: skip
    context.configure(settings)
    store = sync_client(settings)
    rq_node = context.rq_connection().connection_pool.connection_kwargs["port"]
    assert rq_node == store.get_node_from_key(keys.RQ_PREFIX).port, "rq talks to its slot's owner"
    try:
        with TestClient(create_app(settings)) as api:
            sid = api.post("/systems", json={"name": "jobs-on-cluster"}).json()["system_id"]
            hook = {"kind": "webhook", "url": f"{receiver.url}/hook"}
            assert api.post(f"/systems/{sid}/channels", json=hook).status_code == 201
            batch = [event(datetime.now(UTC), status="error") for _ in range(10)]
            assert api.post(f"/systems/{sid}/events", json={"events": batch}).status_code == 202
            Worker(store, settings, burst=True).run()
            assert Ticker().tick(time.time()) == [
                "evaluate", "sweep", "retention", "late_ends", "groups",
            ]  # fmt: skip

            def told() -> bool:
                run_queued()
                return len(receiver.requests) >= 1

            wait_for(told, 20, "the receiver to be told", interval_s=0)
            assert receiver.requests[0].json()["to"] == "UNHEALTHY"
            assert api.delete(f"/systems/{sid}").status_code == 202
    finally:
        context.configure(Settings())
        store.close()


def test_a_global_channel_groups_systems_of_every_partition_on_a_cluster(
    cluster: EmbeddedCluster, receiver: Receiver
) -> None:
    """A group's keys are in the registry's slot, its members' in their partitions' slots."""
    settings = make_settings(
        cluster.url, redis_cluster=True, partitions=6, allow_private_webhooks=True,
        notify_min_interval_s=0,
    )  # fmt: skip
    context.configure(settings)
    store = sync_client(settings)
    try:
        with TestClient(create_app(settings)) as api:
            hook = {"kind": "webhook", "url": f"{receiver.url}/grouped", "group_window_s": 1}
            assert api.post("/channels", json=hook).status_code == 201
            ids = [api.post("/systems", json={"name": f"grouped-{i}"}).json()["system_id"]
                   for i in range(6)]  # fmt: skip
            nodes = {
                store.get_node_from_key(keys.deliveries(keys.partition_of(sid, 6), sid)).name
                for sid in ids
            }  # type: ignore[union-attr]
            assert len(nodes) == 3, "the members live on every master"
            for sid in ids:
                batch = [event(datetime.now(UTC), status="error") for _ in range(10)]
                assert api.post(f"/systems/{sid}/events", json={"events": batch}).status_code == 202
            Worker(store, settings, burst=True).run()
            Ticker().tick(time.time())

            def told() -> bool:
                run_queued()
                groups.flush()
                return len(receiver.requests) >= 1

            wait_for(told, 20, "the group to be told", interval_s=0.1)
            (got,) = [r.json() for r in receiver.requests]
            assert sorted(t["system"]["id"] for t in got["transitions"]) == ids
            shown = api.get(f"/groups/{got['delivery_id']}").json()
            assert shown["status"] == "delivered" and len(shown["members"]) == 6
            for sid in ids:
                (line,) = api.get(f"/systems/{sid}/notifications").json()["notifications"]
                assert (line["status"], line["group_id"]) == ("delivered", got["delivery_id"])
    finally:
        context.configure(Settings())
        store.close()
