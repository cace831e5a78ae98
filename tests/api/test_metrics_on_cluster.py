"""GET /metrics against a real 3-master cluster (Valkey, and Redis when installed): the
partition figures' pipelines (stream and group info, pending summaries, dead-letter streams,
sorted sets of every slot), the tally's flush and the per-system reads work there."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.main import create_app
from lso.cluster import EmbeddedCluster
from shared.store import keys
from shared.store.client import sync_client
from tests.support.clock import Clock
from tests.support.events import batch
from tests.support.servers import available
from tests.support.settings import make_settings
from tests.support.wait import wait_for
from worker.consumer import Worker

pytestmark = pytest.mark.cluster

PARTITIONS = 6


@pytest.fixture(scope="module", params=sorted(available()))
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedCluster]:
    binary = Path(available()[request.param])
    embedded = EmbeddedCluster(Path(tmp_path_factory.mktemp("cluster")), 3, binary)
    embedded.start({})
    yield embedded
    embedded.stop()


def scrape(api: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_on_a_cluster(cluster: EmbeddedCluster, clock: Clock) -> None:
    settings = make_settings(cluster.url, redis_cluster=True, partitions=PARTITIONS)
    store = sync_client(settings)
    store.flushall()
    with TestClient(create_app(settings)) as api:
        api.app.state.clock = clock  # type: ignore[attr-defined]
        sids = [api.post("/systems", json={"name": f"s{i}"}).json()["system_id"]
                for i in range(PARTITIONS)]  # fmt: skip
        for sid in sids:  # one system a partition: every slot's keys are read
            assert api.post(f"/systems/{sid}/events", json=batch(clock.now, 3)).status_code == 202
        store.xadd(keys.dead_letters(2), {"error": "x"})

        before = scrape(api)
        backlog = [before[("lso_stream_backlog_events", (("partition", str(p)),))]
                   for p in range(PARTITIONS)]  # fmt: skip
        assert backlog == [3.0] * PARTITIONS
        assert before[("lso_dead_letters_written_total", (("partition", "2"),))] == 1

        Worker(store, settings, burst=True).run()

        def flushed() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            found = scrape(api)
            labels = (("method", "POST"), ("route", "/systems/{system_id}/events"),
                      ("status", "202"))  # fmt: skip
            return found if found.get(("lso_http_requests_total", labels)) == PARTITIONS else None

        after = wait_for(flushed, 10, "the tally's flush to the cluster")
        for p in range(PARTITIONS):
            assert after[("lso_stream_backlog_events", (("partition", str(p)),))] == 0
            assert after[("lso_events_drained_total", (("partition", str(p)),))] == 3
        ages = [after[("lso_system_last_event_age_seconds", (("system", f"s{i}"),
                                                            ("system_id", str(sid))))]
                for i, sid in enumerate(sids)]  # fmt: skip
        assert all(0 <= age < 5 for age in ages)
    store.close()
