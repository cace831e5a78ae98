"""Healthchecks-style ping URLs: what each one records, and how a cron job's health follows."""

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.middleware.ping_fast_path import PingFastPath
from tests.support.api import middleware, register
from tests.support.clock import Clock
from tests.support.wait import wait_for
from worker.consumer import DrainStats


def ping_key(api: TestClient, system_id: int) -> str:
    created = api.post(f"/systems/{system_id}/keys", json={"kind": "ping"})
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "ping" and created.json()["systems"] == [system_id]
    return str(created.json()["token"])


@pytest.fixture
def nightly(api: TestClient) -> tuple[int, str]:
    sid = register(api, "nightly-backup")
    return sid, ping_key(api, sid)


def test_every_ping_url_answers_ok_and_records_its_event(
    api: TestClient, nightly: tuple[int, str], drain: Callable[..., DrainStats]
) -> None:
    sid, key = nightly
    for method, path in [("GET", ""), ("POST", ""), ("HEAD", ""), ("GET", "/0"),
                         ("POST", "/fail"), ("GET", "/3"), ("GET", "/log")]:  # fmt: skip
        response = api.request(method, f"/ping/{key}{path}")
        assert response.status_code == 200, (method, path, response.text)
        assert response.text == ("" if method == "HEAD" else "OK")
        assert response.headers["content-type"].startswith("text/plain")
    drain()

    # the plain forms take the fast path (api/middleware/ping_fast_path.py), HEAD the route
    assert middleware(api, PingFastPath).handled == 6
    events = api.get(f"/systems/{sid}/events").json()["events"]
    assert [(e["event_type"], e["status"]) for e in events].count(("ping", "ok")) == 4
    assert [(e["event_type"], e["status"]) for e in events].count(("ping", "error")) == 2
    assert {e["payload"].get("exit_status") for e in events} == {None, 0, 3}
    assert [e["event_type"] for e in events].count("note") == 1
    health = api.get(f"/systems/{sid}/health").json()
    assert (health["total"], health["errors"]) == (6, 2)  # the /log note changes nothing


def test_a_start_and_its_end_make_a_run_with_its_duration(
    api: TestClient, nightly: tuple[int, str], clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid, key = nightly
    api.put(f"/systems/{sid}/policy", json={"max_run_seconds": 600})
    assert api.get(f"/ping/{key}/start").status_code == 200
    clock.now += timedelta(seconds=42)
    assert api.post(f"/ping/{key}", content=b"backed up 3 GB").status_code == 200
    # paired by rid: a failing run, and one that never ends
    assert api.get(f"/ping/{key}/start", params={"rid": "r-2"}).status_code == 200
    clock.now += timedelta(seconds=5)
    assert api.get(f"/ping/{key}/1", params={"rid": "r-2"}).status_code == 200
    assert api.get(f"/ping/{key}/start", params={"rid": "hung"}).status_code == 200
    # a success without a start: an event of its own, in no run
    assert api.get(f"/ping/{key}").status_code == 200
    drain()

    clock.now += timedelta(seconds=700)
    runs = api.get(f"/systems/{sid}/runs").json()["runs"]
    by_outcome = {r["outcome"]: r for r in runs}
    assert len(runs) == 3
    ok = by_outcome["succeeded"]
    assert (ok["duration_seconds"], ok["events"], ok["errors"]) == (42.0, 1, 0)
    failed = by_outcome["failed"]
    assert (failed["run_id"], failed["duration_seconds"], failed["errors"]) == ("r-2", 5.0, 1)
    assert (by_outcome["running"]["run_id"], by_outcome["running"]["flags"]) == (
        "hung",
        ["too_long"],
    )
    events = api.get(f"/systems/{sid}/events", params={"run_id": ok["run_id"]}).json()["events"]
    ping = next(e for e in events if e["event_type"] == "ping")
    assert ping["latency_ms"] == 42_000 and ping["payload"]["body"] == "backed up 3 GB"


def test_a_nightly_job_turns_unhealthy_on_a_failure_or_a_missed_night_and_back(
    api: TestClient, nightly: tuple[int, str], clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid, key = nightly
    policy = {"window_seconds": 86_400, "min_events": 1, "degraded_error_rate": 1,
              "unhealthy_error_rate": 1, "consecutive_failures": 1,
              "expected_interval_seconds": 86_400, "grace_seconds": 3_600}  # fmt: skip
    assert api.put(f"/systems/{sid}/policy", json=policy).status_code == 200

    def verdict() -> str:
        drain()
        return str(api.get(f"/systems/{sid}/health").json()["health"])

    api.get(f"/ping/{key}")
    assert verdict() == "OK"
    clock.now += timedelta(hours=24)
    api.get(f"/ping/{key}/fail")
    assert verdict() == "UNHEALTHY"
    clock.now += timedelta(hours=24)
    api.get(f"/ping/{key}")
    assert verdict() == "OK"
    clock.now += timedelta(hours=25, minutes=1)  # past interval + grace: missed
    assert verdict() == "UNHEALTHY"


def test_bad_pings_get_a_clear_answer_and_the_key_is_never_logged(
    api: TestClient, nightly: tuple[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    sid, key = nightly
    caplog.set_level(logging.DEBUG)
    assert api.post(f"/ping/{key}", content=b"x" * 10_001).status_code == 413
    assert api.post(f"/ping/{key}", content=b"\x01" * 10_000).status_code == 200  # kept whole
    assert api.get(f"/ping/{key}/256").status_code == 422
    assert api.get(f"/ping/{key}/start", params={"rid": "x" * 129}).status_code == 422
    assert api.get("/ping/lso_p_unknown").status_code == 404
    for response in (api.get(f"/ping/{key}/999"), api.get(f"/ping/{key}", params={"rid": "é"})):
        assert key not in response.text
    assert not [r for r in caplog.records if key in r.getMessage() and r.name != "httpx2"]


def test_a_ping_key_can_only_ping_and_only_a_ping_key_pings(
    make_api: Callable[..., TestClient],
) -> None:
    admin = {"Authorization": "Bearer lso_a_ping-tests-admin-token"}
    api = make_api(auth="on", admin_token="lso_a_ping-tests-admin-token")
    sid = api.post("/systems", json={"name": "cron"}, headers=admin).json()["system_id"]
    key = api.post(f"/systems/{sid}/keys", json={"kind": "ping"}, headers=admin).json()["token"]
    ingest_key = api.post(f"/systems/{sid}/keys", json={"kind": "ingest"},
                          headers=admin).json()["token"]  # fmt: skip
    assert api.get(f"/ping/{key}").status_code == 200
    assert api.get(f"/ping/{ingest_key}").status_code == 404
    as_ping = {"Authorization": f"Bearer {key}"}
    assert (
        api.post(f"/systems/{sid}/events", json={"events": []}, headers=as_ping).status_code == 403
    )
    assert api.get(f"/systems/{sid}/health", headers=as_ping).status_code == 403
    assert api.get("/systems", headers=as_ping).status_code == 403
    listed = api.get(f"/systems/{sid}/keys", headers=admin).json()["keys"]
    ping = next(k for k in listed if k["kind"] == "ping")
    assert api.delete(f"/systems/{sid}/keys/{ping['key_id']}", headers=admin).status_code == 204
    wait_for(
        lambda: api.get(f"/ping/{key}").status_code == 404 or None, 5, "the revoked key refused"
    )
