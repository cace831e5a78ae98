"""Dependent systems end to end (real server, the test's clock): an upstream failure is told
once, the downstream answers name it, their notifications are held, and released
`release_after_s` after the upstream recovers only for those still failing."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import add_channels, register
from tests.support.clock import Clock
from tests.support.jobs import RunJobs, Send
from tests.support.receiver import Receiver
from worker.jobs import evaluate

RELEASE_AFTER_S = 10
POLICY = {"window_seconds": 60, "release_after_s": RELEASE_AFTER_S}
Evaluate = Callable[..., dict[str, int]]


@pytest.fixture
def watched(job_api: TestClient, receiver: Receiver) -> Callable[[str], int]:
    """`watched("extract")`: a system with a webhook channel at the receiver; its id."""

    def make(name: str) -> int:
        sid = register(job_api, name, policy=POLICY)
        add_channels(job_api, sid, receiver.url, ("webhook",))
        return sid

    return make


def depends(api: TestClient, sid: int, *upstreams: int | str) -> None:
    response = api.put(f"/systems/{sid}/dependencies", json={"depends_on": list(upstreams)})
    assert response.status_code == 200, response.text


def told(receiver: Receiver) -> list[tuple[int, str, str]]:
    """(system id, from, to) of every notification the receiver got, in order."""
    return [(b["system"]["id"], b["from"], b["to"]) for b in (r.json() for r in receiver.requests)]


def health(api: TestClient, sid: int) -> dict[str, Any]:
    response = api.get(f"/systems/{sid}/health")
    assert response.status_code == 200, response.text
    return dict(response.json())


def newest(api: TestClient, sid: int) -> dict[str, Any]:
    return dict(api.get(f"/systems/{sid}/notifications").json()["notifications"][0])


def test_a_chain_is_told_once_and_a_still_failing_downstream_after_the_release(
    watched: Callable[[str], int],
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    extract, transform, load = (watched(n) for n in ("extract", "transform", "load"))
    depends(job_api, transform, "extract")  # by name
    depends(job_api, load, transform)  # by id

    send(extract, 20, "error")
    apply_and_evaluate()
    clock.now += timedelta(seconds=1)
    send(transform, 20, "error")
    send(load, 20, "error")
    assert apply_and_evaluate()["transitions"] == 2
    run_jobs()
    assert told(receiver) == [(extract, "OK", "UNHEALTHY")]  # one page for one cause

    for downstream in (transform, load):
        answer = health(job_api, downstream)
        assert answer["health"] == "UNHEALTHY"
        assert [(u["system_id"], u["name"], u["health"]) for u in answer["upstream"]] == [
            (extract, "extract", "UNHEALTHY")
        ]
        assert f"upstream extract (id {extract}) UNHEALTHY since " in answer["reason"]
        held = newest(job_api, downstream)
        assert held["status"] == "held" and held["held_until"] is None
        assert held["held_reason"] == f"upstream extract ({extract}) is UNHEALTHY"
    assert health(job_api, extract)["upstream"] == []
    overview = {line["system_id"]: line for line in job_api.get("/health").json()["systems"]}
    assert [u["system_id"] for u in overview[load]["upstream"]] == [extract]
    roots = job_api.get("/health", params={"roots": 1}).json()["systems"]
    assert [line["system_id"] for line in roots] == [extract]

    # extract and transform recover; load keeps failing (its errors are still in its window)
    clock.now += timedelta(seconds=1)
    send(extract, 2000, "ok")
    send(transform, 2000, "ok")
    apply_and_evaluate()
    run_jobs()
    assert told(receiver) == [(extract, "OK", "UNHEALTHY"), (extract, "UNHEALTHY", "OK")]
    assert health(job_api, load)["upstream"] == []
    releasing = newest(job_api, load)
    assert releasing["status"] == "held" and releasing["held_until"] is not None
    assert job_api.get(f"/systems/{transform}/notifications").json()["notifications"] == []

    clock.now += timedelta(seconds=RELEASE_AFTER_S - 2)  # not yet
    apply_and_evaluate()
    run_jobs()
    assert len(told(receiver)) == 2
    clock.now += timedelta(seconds=2)
    apply_and_evaluate()
    run_jobs()
    clock.now += timedelta(seconds=1)
    apply_and_evaluate(sweep=True)
    run_jobs()
    assert told(receiver) == [
        (extract, "OK", "UNHEALTHY"),
        (extract, "UNHEALTHY", "OK"),
        (load, "NO_DATA", "UNHEALTHY"),  # once; transform, recovered, never
    ]


def test_a_diamond_holds_the_bottom_and_names_the_top(
    watched: Callable[[str], int],
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    a, b, c, d = (watched(n) for n in "abcd")
    depends(job_api, b, a)
    depends(job_api, c, a)
    depends(job_api, d, b, c)
    send(a, 20, "error")
    apply_and_evaluate()
    clock.now += timedelta(seconds=1)
    for sid in (b, c, d):
        send(sid, 20, "error")
    apply_and_evaluate()
    run_jobs()

    assert told(receiver) == [(a, "OK", "UNHEALTHY")]
    assert [u["system_id"] for u in health(job_api, d)["upstream"]] == [a]
    assert newest(job_api, d)["held_reason"] == f"upstream a ({a}) is UNHEALTHY"
    roots = job_api.get("/health", params={"roots": "true"}).json()["systems"]
    assert [line["system_id"] for line in roots] == [a]
    graph = job_api.get("/dependencies").json()
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(a, b), (a, c), (b, d), (c, d)}
    assert {n["system_id"]: n["health"] for n in graph["nodes"]} == dict.fromkeys(
        (a, b, c, d), "UNHEALTHY"
    )


def test_deleting_the_upstream_removes_its_edges_and_releases_the_holds(
    watched: Callable[[str], int],
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    up, down = watched("up"), watched("down")
    depends(job_api, down, up)
    send(up, 20, "error")
    send(down, 20, "error")
    apply_and_evaluate()
    run_jobs()
    assert told(receiver) == [(up, "OK", "UNHEALTHY")]
    assert newest(job_api, down)["status"] == "held"

    assert job_api.delete(f"/systems/{up}").status_code == 202
    assert job_api.get(f"/systems/{down}/dependencies").json()["depends_on"] == []
    assert job_api.get("/dependencies").json() == {"nodes": [], "edges": []}
    assert health(job_api, down)["upstream"] == []
    apply_and_evaluate()
    assert newest(job_api, down)["held_until"] is not None  # released, after release_after_s
    clock.now += timedelta(seconds=RELEASE_AFTER_S)
    apply_and_evaluate()
    run_jobs()
    assert told(receiver) == [(up, "OK", "UNHEALTHY"), (down, "OK", "UNHEALTHY")]


def test_a_change_costs_its_subgraph_not_the_fleet(
    watched: Callable[[str], int],
    job_api: TestClient,
    send: Send,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    fleet = job_api.post("/systems/bulk", json={"systems": [{"name": f"s{i}"} for i in range(300)]})
    assert fleet.status_code == 200, fleet.text
    extract, transform, load = (watched(n) for n in ("extract", "transform", "load"))
    depends(job_api, transform, extract)
    depends(job_api, load, transform)
    apply_and_evaluate()  # every system's first verdict
    evaluator = evaluate._kept[0]
    evaluator.dependencies.reads = 0

    clock.now += timedelta(seconds=1)
    send(extract, 20, "error")  # the head of the chain fails: its closure is touched
    assert apply_and_evaluate()["evaluated"] == 1
    send(load, 20, "error")  # the tail fails: its upstream closure is read for its hold
    assert apply_and_evaluate()["evaluated"] == 1
    assert evaluator.dependencies.reads <= 2  # transform and extract, whatever the fleet
    assert newest(job_api, load)["status"] == "held"
