"""OpenLineage RunEvents at POST /api/v1/lineage: systems by job name, runs, errors, answers."""

import asyncio
import gzip
import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.middleware.lineage_fast_path import LineageFastPath
from tests.support.api import middleware
from tests.support.clock import Clock
from worker.consumer import DrainStats
from worker.jobs import late_ends

ADMIN = "lso_a_lineage-tests-admin-token"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


def run_event(
    event_type: str,
    at: datetime,
    run_id: str,
    job: str = "nightly_orders",
    namespace: str = "airflow",
    parent: tuple[str, str, str] | None = None,  # (namespace, name, run id)
    error: str | None = None,
) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if parent is not None:
        facets["parent"] = {"_producer": PRODUCER, "_schemaURL": "x",
                            "job": {"namespace": parent[0], "name": parent[1]},
                            "run": {"runId": parent[2]}}  # fmt: skip
    if error is not None:
        facets["errorMessage"] = {"_producer": PRODUCER, "_schemaURL": "x", "message": error,
                                  "programmingLanguage": "python",
                                  "stackTrace": "Traceback (most recent call last)"}  # fmt: skip
    return {
        "eventType": event_type,
        "eventTime": at.isoformat(),
        "run": {"runId": run_id, "facets": facets},
        "job": {"namespace": namespace, "name": job, "facets": {}},
        "inputs": [],
        "outputs": [],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def post(api: TestClient, event: dict[str, Any], **headers: str) -> Any:
    return api.post("/api/v1/lineage", content=orjson.dumps(event),
                    headers={"content-type": "application/json", **headers})  # fmt: skip


def system_named(api: TestClient, name: str) -> int:
    found = api.get(f"/systems/by-name/{name}")
    assert found.status_code == 200, found.text
    return int(found.json()["system_id"])


def test_a_job_reports_its_runs_and_their_failures(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    t = clock.now - timedelta(minutes=4)
    ok, bad = str(uuid.uuid4()), str(uuid.uuid4())
    for event in (
        run_event("START", t, ok),
        run_event("RUNNING", t + timedelta(seconds=20), ok),
        run_event("COMPLETE", t + timedelta(seconds=65), ok),
        run_event("START", t + timedelta(minutes=2), bad),
        run_event(
            "FAIL", t + timedelta(minutes=2, seconds=9), bad, error="division by zero in orders.py"
        ),  # fmt: skip
    ):
        answer = post(api, event)
        assert answer.status_code == 200, answer.text
    sid = system_named(api, "airflow/nightly_orders")  # created on first report
    assert middleware(api, LineageFastPath).handled == 5  # answered before FastAPI's routing
    assert (
        api.post(
            "/api/v1/lineage?x=1",
            content=orjson.dumps(run_event("START", t, ok)),
            headers={"content-type": "application/json"},
        ).status_code
        == 200
    )  # the route
    drain()

    runs = {r["run_id"]: r for r in api.get(f"/systems/{sid}/runs").json()["runs"]}
    assert (runs[ok]["outcome"], runs[ok]["duration_seconds"], runs[ok]["events"]) == (
        "succeeded", 65.0, 1,
    )  # fmt: skip
    assert (runs[bad]["outcome"], runs[bad]["duration_seconds"]) == ("failed", 9.0)
    health = api.get(f"/systems/{sid}/health").json()
    assert (health["total"], health["errors"]) == (2, 1)  # START/RUNNING are not counted
    assert health["last_error"]["message"] == "division by zero in orders.py"
    events = api.get(f"/systems/{sid}/events", params={"status": "error"}).json()["events"]
    fail = next(e for e in events if e["event_type"] == "fail")
    assert fail["latency_ms"] == 9000
    assert fail["payload"]["stack_trace"].startswith("Traceback")


def test_a_task_with_a_parent_is_a_stage_of_its_dag_run(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    t = clock.now - timedelta(minutes=5)
    dag_run, task_run = str(uuid.uuid4()), str(uuid.uuid4())
    parent = ("airflow", "orders_dag", dag_run)
    for event in (
        run_event("START", t, dag_run, job="orders_dag"),
        run_event(
            "START", t + timedelta(seconds=1), task_run, job="orders_dag.extract", parent=parent
        ),  # fmt: skip
        run_event(
            "COMPLETE", t + timedelta(seconds=31), task_run, job="orders_dag.extract", parent=parent
        ),  # fmt: skip
    ):
        assert post(api, event).status_code == 200
    sid = system_named(api, "airflow/orders_dag")
    assert api.get("/systems/by-name/airflow/orders_dag.extract").status_code == 404
    drain()
    (run,) = api.get(f"/systems/{sid}/runs").json()["runs"]
    # the task's end is a stage of the DAG run, which still runs
    assert (run["run_id"], run["outcome"]) == (dag_run, "running")
    assert run["stages"] == {"orders_dag.extract": 1}
    stage = api.get(f"/systems/{sid}/health").json()["stages"]["orders_dag.extract"]
    assert stage["total"] == 1 and 29_000 < stage["p50_latency"] < 31_000

    assert post(api, run_event("COMPLETE", t + timedelta(seconds=40), dag_run,
                               job="orders_dag")).status_code == 200  # fmt: skip
    drain()
    (run,) = api.get(f"/systems/{sid}/runs").json()["runs"]
    assert (run["outcome"], run["duration_seconds"]) == ("succeeded", 40.0)


def test_a_complete_before_its_start_gives_the_same_run(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    t = clock.now - timedelta(minutes=3)
    run_id = str(uuid.uuid4())
    assert post(api, run_event("COMPLETE", t + timedelta(seconds=12), run_id)).status_code == 200
    drain()
    sid = system_named(api, "airflow/nightly_orders")
    (run,) = api.get(f"/systems/{sid}/runs").json()["runs"]
    assert run["outcome"] == "succeeded"  # its end is known at once
    assert (
        api.get(f"/systems/{sid}/health").json()["total"] == 0
    )  # counted once its START says when it began

    assert post(api, run_event("START", t, run_id)).status_code == 200
    drain()
    (run,) = api.get(f"/systems/{sid}/runs").json()["runs"]
    assert (run["outcome"], run["duration_seconds"], run["events"]) == ("succeeded", 12.0, 1)
    health = api.get(f"/systems/{sid}/health").json()
    assert health["total"] == 1 and 11_500 < health["p50_latency"] < 12_500  # as in order
    events = api.get(f"/systems/{sid}/events").json()["events"]
    (end,) = [e for e in events if e["event_type"] == "complete"]
    assert end["latency_ms"] == 12_000
    assert late_ends_counted(api, clock, wait=True) == 0  # nothing is left waiting


def late_ends_counted(api: TestClient, clock: Clock, *, wait: bool) -> int:
    """One pass of the jobs' sweep of late ends, now or once LSO_RUN_START_WAIT_S is over."""
    settings = api.app.state.settings  # type: ignore[attr-defined]
    now_ms = math.floor(clock.now.timestamp() * 1000) + (
        settings.run_start_wait_s * 1000 if wait else 0
    )
    counted, _ = asyncio.run(late_ends._count(settings, now_ms))
    return counted


def test_a_tasks_end_before_its_start_gets_its_duration_too(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    t, dag_run, task_run = clock.now - timedelta(minutes=2), str(uuid.uuid4()), str(uuid.uuid4())
    parent = ("airflow", "orders_dag", dag_run)
    assert post(api, run_event("COMPLETE", t + timedelta(seconds=7), task_run, job="extract",
                               parent=parent)).status_code == 200  # fmt: skip
    assert (
        post(api, run_event("START", t, task_run, job="extract", parent=parent)).status_code == 200
    )
    drain()
    sid = system_named(api, "airflow/orders_dag")
    stage = api.get(f"/systems/{sid}/health").json()["stages"]["extract"]
    assert stage["total"] == 1 and 6_800 < stage["p50_latency"] < 7_200
    events = api.get(f"/systems/{sid}/events").json()["events"]
    (end,) = [e for e in events if e["event_type"] == "complete"]
    assert (end["stage"], end["latency_ms"]) == ("extract", 7_000)


def test_an_end_whose_start_never_comes_is_counted_with_latency_0_after_the_wait(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    run_id = str(uuid.uuid4())
    for _ in range(2):  # a retry changes nothing
        assert post(api, run_event("FAIL", clock.now, run_id, error="boom")).status_code == 200
    sid = system_named(api, "airflow/nightly_orders")
    assert late_ends_counted(api, clock, wait=False) == 0  # still waiting
    assert late_ends_counted(api, clock, wait=True) == 1
    assert late_ends_counted(api, clock, wait=True) == 0  # once
    drain()
    health = api.get(f"/systems/{sid}/health").json()
    assert (health["total"], health["errors"], health["p50_latency"]) == (1, 1, 0)
    assert health["last_error"]["message"] == "boom"

    # A START that comes after all is recorded, and counts nothing again.
    assert (
        post(api, run_event("START", clock.now - timedelta(seconds=5), run_id)).status_code == 200
    )
    drain()
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1
    (run,) = api.get(f"/systems/{sid}/runs").json()["runs"]
    assert (run["outcome"], run["duration_seconds"]) == ("failed", 5.0)


def test_a_retried_event_is_counted_once_and_gzip_is_read(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    run_id = str(uuid.uuid4())
    assert (
        post(api, run_event("START", clock.now - timedelta(seconds=1), run_id)).status_code == 200
    )
    event = run_event("COMPLETE", clock.now, run_id)
    for _ in range(3):
        answer = api.post("/api/v1/lineage", content=gzip.compress(orjson.dumps(event)),
                          headers={"content-type": "application/json",
                                   "content-encoding": "gzip"})  # fmt: skip
        assert answer.status_code == 200
    drain()
    sid = system_named(api, "airflow/nightly_orders")
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"eventTime": "yesterday"}, ["body", "eventTime"]),
        ({"run": {}}, ["body", "run", "runId"]),
        ({"job": {"namespace": "airflow"}}, ["body", "job", "name"]),
        ({"eventType": "EXPLODED"}, ["body", "eventType"]),
        ({"job": {"namespace": "air flow", "name": "x"}}, ["body", "job"]),
        ({"eventTime": "2001-01-01T00:00:00Z"}, ["body", "eventTime"]),  # too old to take
    ],
)
def test_an_invalid_event_is_a_422_naming_the_field(
    api: TestClient, clock: Clock, change: dict[str, Any], loc: list[str]
) -> None:
    answer = post(api, {**run_event("COMPLETE", clock.now, str(uuid.uuid4())), **change})
    assert answer.status_code == 422, answer.text
    assert loc in [e["loc"] for e in answer.json()["detail"]]
    assert api.post("/api/v1/lineage", content=b"{not json").status_code == 422


def test_keys_decide_who_may_create_and_report_and_limits_answer_503(
    make_api: Callable[..., TestClient], clock: Clock
) -> None:
    api = make_api(auth="on", admin_token=ADMIN, rate_limit_events_per_s=2)
    admin = f"Bearer {ADMIN}"
    created = api.post("/keys", json={"kind": "namespace", "namespace": "dbt"},
                       headers={"Authorization": admin})  # fmt: skip
    assert created.status_code == 201, created.text
    ns_key = f"Bearer {created.json()['token']}"

    def report(job: str, namespace: str, key: str) -> int:
        event = run_event("COMPLETE", clock.now, str(uuid.uuid4()), job, namespace)
        return int(post(api, event, authorization=key).status_code)

    assert report("orders", "dbt", ns_key) == 200  # creates dbt/orders
    assert report("orders", "airflow", ns_key) == 403  # not its namespace
    assert report("orders", "airflow", admin) == 200
    assert post(api, run_event("START", clock.now, "r")).status_code == 401
    sid = api.get("/systems/by-name/dbt/orders", headers={"Authorization": ns_key}).json()
    assert sid["name"] == "dbt/orders"
    ingest = api.post(f"/systems/{sid['system_id']}/keys", json={"kind": "ingest"},
                      headers={"Authorization": admin}).json()["token"]  # fmt: skip
    assert report("orders", "dbt", f"Bearer {ingest}") == 200
    assert report("customers", "dbt", f"Bearer {ingest}") == 404  # an ingest key creates nothing
    # over the rate limit: 503 with Retry-After, never 429 (the client does not retry 429)
    answers = [post(api, run_event("COMPLETE", clock.now, str(uuid.uuid4()), "orders", "dbt"),
                    authorization=ns_key) for _ in range(6)]  # fmt: skip
    limited = [a for a in answers if a.status_code != 200]
    assert limited and {a.status_code for a in limited} == {503}
    assert all(int(a.headers["retry-after"]) >= 1 for a in limited)
