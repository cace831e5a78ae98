"""GET /metrics against a real store: Prometheus' text format, who sees which series, and figures
that follow what happened (requests by route template, fast paths included; refused batches by
reason; the backlog and its delay; recorded verdicts and their window figures)."""

import math
from collections.abc import Callable
from datetime import timedelta

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from shared.store import keys, scripts
from tests.support.api import register
from tests.support.clock import Clock
from tests.support.events import batch, event
from tests.support.store import partition
from tests.support.wait import wait_for
from worker.consumer import DrainStats

ADMIN = "lso_a_metrics-admin-token-for-the-suite-012345"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def scrape(api: TestClient, token: str | None = None) -> Samples:
    response = api.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    assert response.status_code == 200, response.text
    return samples(response.text)


def record(client: redis.Redis, e: scripts.Evaluation, at_ms: int) -> None:
    """What the jobs' evaluator records for a system (transition.lua)."""
    call = scripts.transitions(partition(client, e.system_id), [e], at_ms, 100)
    client.register_script(scripts.source(scripts.TRANSITION))(keys=call.keys, args=call.args)


def test_the_answer_is_the_text_format_with_every_service_family(api: TestClient) -> None:
    register(api, "orders-etl")
    response = api.get("/metrics", headers={"Accept-Encoding": "identity"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert names >= {
        "lso_http_requests", "lso_http_request_duration_seconds", "lso_ingest_rejected_batches",
        "lso_ingest_rejected_events", "lso_events_appended", "lso_events_drained",
        "lso_stream_backlog_events", "lso_stream_apply_delay_seconds", "lso_dead_letters_held",
        "lso_dead_letters_written", "lso_evaluator_dirty_systems",
        "lso_evaluator_overdue_seconds", "lso_systems", "lso_deliveries",
        "lso_deliveries_pending", "lso_workers_alive", "lso_system_verdict", "lso_groups_open",
        "lso_group_deliveries_pending",
    }  # fmt: skip


def test_a_large_answer_is_gzipped_when_the_scraper_accepts_it(api: TestClient) -> None:
    for i in range(20):
        register(api, f"system-{i}")
    response = api.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "lso_system_verdict" in response.text  # httpx undid it


def test_an_admin_or_read_key_is_needed_and_a_read_key_sees_its_own_systems_only(
    make_api: Callable[..., TestClient],
) -> None:
    secured = make_api(auth="on", admin_token=ADMIN)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    a = secured.post("/systems", json={"name": "a"}, headers=admin).json()
    b = secured.post("/systems", json={"name": "b"}, headers=admin).json()
    read_a = secured.post(f"/systems/{a['system_id']}/keys", json={"kind": "read"},
                          headers=admin).json()["token"]  # fmt: skip

    anonymous = secured.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    ingest = secured.get(
        "/metrics", headers={"Authorization": f"Bearer {a['ingest_key']['token']}"}
    )
    assert ingest.status_code == 403

    everything = scrape(secured, ADMIN)
    assert value(everything, "lso_system_verdict", system="b", system_id=str(b["system_id"]),
                 verdict="NO_DATA") == 1  # fmt: skip
    assert value(everything, "lso_workers_alive") == 0

    own = scrape(secured, read_a)
    systems = {dict(labels)["system"] for (name, labels) in own if name.startswith("lso_system_")}
    assert systems == {"a"}
    assert not [name for name, _ in own if not name.startswith("lso_system_")], "no service series"


def test_public_metrics_answer_without_a_key(make_api: Callable[..., TestClient]) -> None:
    public = make_api(auth="on", admin_token=ADMIN, metrics_public=True)
    public.post("/systems", json={"name": "a"}, headers={"Authorization": f"Bearer {ADMIN}"})

    found = scrape(public)
    assert value(found, "lso_system_verdict", system="a", system_id="1", verdict="NO_DATA") == 1
    assert value(found, "lso_systems", verdict="NO_DATA") == 1


def test_per_system_series_can_be_turned_off(make_api: Callable[..., TestClient]) -> None:
    api = make_api(metrics_per_system=False)
    register(api, "a")

    found = scrape(api)
    assert not [name for name, _ in found if name.startswith("lso_system_")]
    assert value(found, "lso_systems", verdict="NO_DATA") == 1


def test_requests_are_counted_by_route_template_and_status_fast_paths_included(
    api: TestClient, clock: Clock
) -> None:
    sid = register(api, "orders-etl")
    for _ in range(3):  # the plain form: answered by the ingest fast path, before routing
        assert api.post(f"/systems/{sid}/events", json=batch(clock.now, 5)).status_code == 202
    keyed = api.post(f"/systems/{sid}/events", json=batch(clock.now, 5),
                     headers={"Idempotency-Key": "k1"})  # fmt: skip
    assert keyed.status_code == 202  # through FastAPI's route
    assert api.get(f"/systems/{sid + 99}/health").status_code == 404
    assert api.get("/no/such/path/123").status_code == 404
    events = "/systems/{system_id}/events"

    def counted() -> Samples | None:
        found = scrape(api)
        done = value(found, "lso_http_requests_total", method="POST", route=events, status="202")
        return found if done == 4 else None

    found = wait_for(counted, 10, "the tally's flush")
    health = "/systems/{system_id}/health"
    assert value(found, "lso_http_requests_total", method="GET", route=health, status="404") == 1
    assert value(found, "lso_http_requests_total", method="GET", route="unmatched",
                 status="404") == 1  # fmt: skip
    assert value(found, "lso_http_request_duration_seconds_count", method="POST",
                 route=events) == 4  # fmt: skip
    inf = value(found, "lso_http_request_duration_seconds_bucket", method="POST", route=events,
                le="+Inf")  # fmt: skip
    assert inf == 4
    total_s = value(found, "lso_http_request_duration_seconds_sum", method="POST", route=events)
    assert total_s is not None and 0 < total_s < 10


def test_refused_batches_are_counted_by_reason_with_their_events(
    api: TestClient, clock: Clock
) -> None:
    sid = register(api, "orders-etl")
    bad = {"events": [event(clock.now, status="maybe") for _ in range(7)]}
    assert api.post(f"/systems/{sid}/events", json=bad).status_code == 422
    assert api.post(f"/systems/{sid + 50}/events", json=batch(clock.now, 3)).status_code == 404
    huge = b"x" * (api.app.state.settings.max_body_bytes + 1)  # type: ignore[attr-defined]
    too_large = api.post(f"/systems/{sid}/events", content=huge,
                         headers={"Content-Type": "application/json"})  # fmt: skip
    assert too_large.status_code == 413

    def counted() -> Samples | None:
        found = scrape(api)
        done = value(found, "lso_ingest_rejected_batches_total", reason="body")
        return found if done == 1 else None

    found = wait_for(counted, 10, "the tally's flush")
    assert value(found, "lso_ingest_rejected_batches_total", reason="invalid") == 1
    assert value(found, "lso_ingest_rejected_events_total", reason="invalid") == 7
    assert value(found, "lso_ingest_rejected_batches_total", reason="unknown_system") == 1
    assert value(found, "lso_ingest_rejected_events_total", reason="unknown_system") == 0
    assert value(found, "lso_ingest_rejected_batches_total", reason="rate_limited") == 0


def test_the_backlog_its_delay_and_the_drain_follow_the_stream(
    api: TestClient, client: redis.Redis, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid = register(api, "orders-etl")
    for _ in range(2):
        assert api.post(f"/systems/{sid}/events", json=batch(clock.now, 10)).status_code == 202
    p = str(partition(client, sid))

    def delayed() -> Samples | None:  # entry ids are the store's ms: the delay grows with time
        found = scrape(api)
        delay = value(found, "lso_stream_apply_delay_seconds", partition=p)
        return found if delay is not None and delay > 0 else None

    found = wait_for(delayed, 10, "an apply delay")
    assert value(found, "lso_stream_backlog_events", partition=p) == 20
    assert value(found, "lso_events_appended_total", partition=p) == 20
    assert value(found, "lso_events_drained_total", partition=p) == 0

    drain()
    found = scrape(api)
    assert value(found, "lso_stream_backlog_events", partition=p) == 0
    assert value(found, "lso_stream_apply_delay_seconds", partition=p) == 0
    assert value(found, "lso_events_drained_total", partition=p) == 20
    assert value(found, "lso_evaluator_dirty_systems", partition=p) == 1  # marked by the apply


def test_recorded_verdicts_and_their_figures_are_the_per_system_series(
    api: TestClient, client: redis.Redis, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    failing, quiet = register(api, "failing"), register(api, "team/quiet")
    events_at = clock.now - timedelta(seconds=30)
    assert api.post(f"/systems/{failing}/events", json=batch(events_at, 4)).status_code == 202
    drain()
    now_ms = int(clock.now.timestamp() * 1000)
    record(client, scripts.Evaluation(failing, "UNHEALTHY", "error rate", 40, 0.25, 123.5), now_ms)
    record(client, scripts.Evaluation(quiet, "OK", "fine"), now_ms - 5000)

    found = scrape(api)
    one = {"system": "failing", "system_id": str(failing)}
    for verdict in ("OK", "DEGRADED", "UNHEALTHY", "NO_DATA"):
        expected = 1 if verdict == "UNHEALTHY" else 0
        assert value(found, "lso_system_verdict", **one, verdict=verdict) == expected
    assert value(found, "lso_system_error_ratio", **one) == 0.25
    assert value(found, "lso_system_latency_p95_seconds", **one) == 0.1235
    age = value(found, "lso_system_last_event_age_seconds", **one)
    assert age is not None and math.isclose(age, 30, abs_tol=1)
    other = {"system": "team/quiet", "system_id": str(quiet)}
    assert value(found, "lso_system_verdict", **other, verdict="OK") == 1
    assert value(found, "lso_system_error_ratio", **other) is None, "no events, no figures"
    assert value(found, "lso_system_last_event_age_seconds", **other) is None
    assert value(found, "lso_systems", verdict="UNHEALTHY") == 1
    assert value(found, "lso_evaluator_last_verdict_age_seconds") == 0


def test_the_last_event_is_the_recorded_one_unless_events_came_since(
    api: TestClient, client: redis.Redis, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    settled, moved_on = register(api, "settled"), register(api, "moved-on")
    now_ms = int(clock.now.timestamp() * 1000)
    for sid in (settled, moved_on):  # evaluated with their newest event 10 min ago
        client.zrem(keys.dirty(partition(client, sid)), sid)  # taken by the evaluator
        record(client, scripts.Evaluation(sid, "OK", "fine", 4, 0.0, 1.0, now_ms - 600_000), now_ms)
    events_at = clock.now - timedelta(seconds=30)
    assert api.post(f"/systems/{moved_on}/events", json=batch(events_at, 4)).status_code == 202
    drain()  # applied after the evaluation: dirty, so its meta hash is read

    found = scrape(api)
    ages = {
        name: value(found, "lso_system_last_event_age_seconds", system=name, system_id=str(sid))
        for name, sid in (("settled", settled), ("moved-on", moved_on))
    }
    assert ages["settled"] == 600
    assert ages["moved-on"] is not None and math.isclose(ages["moved-on"], 30, abs_tol=1)


def test_deliveries_and_dead_letters_are_read_from_the_store(
    api: TestClient, client: redis.Redis
) -> None:
    client.hincrby(keys.METRICS_DELIVERIES, "delivered", 3)  # as the delivery jobs count them
    replayed = client.xadd(keys.dead_letters(0), {"error": "x"})
    client.xadd(keys.dead_letters(0), {"error": "y"})
    client.xdel(keys.dead_letters(0), replayed)  # as a replay does: held 1, written 2

    found = scrape(api)
    assert value(found, "lso_deliveries_total", status="delivered") == 3
    assert value(found, "lso_deliveries_total", status="failed") == 0
    assert value(found, "lso_dead_letters_held", partition="0") == 1
    assert value(found, "lso_dead_letters_written_total", partition="0") == 2
