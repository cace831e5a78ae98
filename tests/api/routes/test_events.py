"""POST /systems/{id}/events: the whole status-code contract, and nothing stored on rejection."""

import gzip
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from shared.store import keys
from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from tests.support.store import partition, stream_entries
from worker.consumer import DrainStats


def stored(client: redis.Redis) -> int:
    return stream_entries(client)


def test_a_valid_batch_is_one_stream_entry_and_202_names_the_count(
    api: TestClient, clock: Clock, client: redis.Redis
) -> None:
    sid = register(api)
    events = [event(clock.now, status="error", run_id="r1", stage="load", payload={"rows": 3})]
    events += [event(clock.now - timedelta(seconds=i)) for i in range(9)]
    response = api.post(f"/systems/{sid}/events", json={"events": events})

    assert (response.status_code, response.json()) == (202, {"accepted": 10})
    assert stored(client) == 1
    stats = client.hgetall(keys.partition_stats(partition(client, sid)))
    assert stats[b"events_in"] == b"10"


def test_an_unknown_system_is_404_before_the_body_is_read(api: TestClient) -> None:
    response = api.post("/systems/999/events", content=b"not json at all")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": "12"}, "latency_ms"),
        ({"latency_ms": None}, "latency_ms"),
        ({"status": "warn"}, "status"),
        ({"event_type": ""}, "event_type"),
        ({"event_type": "x" * 65}, "event_type"),
        ({"ts": "2026-01-01T00:00:00"}, "ts"),
        ({"ts": "yesterday"}, "ts"),
        ({"ts": 1764000000}, "ts"),
        ({"run_id": "r" * 129}, "run_id"),
        ({"stage": "s" * 65}, "stage"),
        ({"payload": [1, 2]}, "payload"),
        ({"payload": {"blob": "x" * 8200}}, "payload"),
        ({"event_id": "e" * 129}, "event_id"),
        ({"system_id": 424242}, "system_id"),
    ],
)
def test_one_bad_event_rejects_the_whole_batch_naming_index_and_field(
    api: TestClient, clock: Clock, client: redis.Redis, change: dict[str, Any], field: str
) -> None:
    sid = register(api)
    events = [event(clock.now) for _ in range(5)]
    events[3].update(change)
    response = api.post(f"/systems/{sid}/events", json={"events": events})

    assert response.status_code == 422, response.text
    locs = [e["loc"] for e in response.json()["detail"]]
    assert ["body", "events", 3, field] in locs or any(
        loc[:4] == ["body", "events", 3, field] for loc in locs
    ), locs
    assert stored(client) == 0


def test_a_missing_required_field_is_named(api: TestClient, clock: Clock) -> None:
    sid = register(api)
    bad = event(clock.now)
    del bad["latency_ms"]
    response = api.post(f"/systems/{sid}/events", json={"events": [event(clock.now), bad]})
    assert response.json()["detail"][0]["loc"] == ["body", "events", 1, "latency_ms"]
    assert "input" not in response.json()["detail"][0], "client data is not echoed back"


def test_the_matching_system_id_and_timezone_offsets_are_accepted(
    api: TestClient, clock: Clock
) -> None:
    sid = register(api)
    local = clock.now.astimezone().isoformat()
    z = clock.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    post_events(api, sid, [event(clock.now, system_id=sid), {**event(clock.now), "ts": z}])
    post_events(api, sid, [{**event(clock.now), "ts": local, "latency_ms": 0}])


@pytest.mark.parametrize(("ahead_s", "status"), [(299, 202), (301, 422)])
def test_events_too_far_in_the_future_are_rejected(
    api: TestClient, clock: Clock, ahead_s: int, status: int
) -> None:
    sid = register(api)
    ts = clock.now + timedelta(seconds=ahead_s)
    assert api.post(f"/systems/{sid}/events", json={"events": [event(ts)]}).status_code == status


@pytest.mark.parametrize("body", [{"events": []}, {}, [], {"events": [{}], "extra": 1}])
def test_malformed_batches_are_422(api: TestClient, body: object) -> None:
    sid = register(api)
    assert api.post(f"/systems/{sid}/events", json=body).status_code == 422


def test_malformed_json_is_422(api: TestClient) -> None:
    sid = register(api)
    response = api.post(
        f"/systems/{sid}/events",
        content=b'{"events": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422


@pytest.fixture
def small_api(make_api: Callable[..., TestClient]) -> TestClient:
    """An API with small limits: 3 events per batch, 2 KiB bodies."""
    return make_api(max_batch_events=3, max_body_bytes=2048)


def test_more_events_than_the_batch_limit_is_422(small_api: TestClient, clock: Clock) -> None:
    sid = register(small_api)
    events = [event(clock.now)] * 4
    response = small_api.post(f"/systems/{sid}/events", json={"events": events})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]


def test_a_body_over_the_limit_is_413_plain_or_decompressed(
    small_api: TestClient, clock: Clock, client: redis.Redis
) -> None:
    sid = register(small_api)
    big = json.dumps({"events": [event(clock.now, run_id="r" * 120)] * 3 + [" " * 2000]}).encode()
    url = f"/systems/{sid}/events"
    json_type = {"content-type": "application/json"}

    assert small_api.post(url, content=big, headers=json_type).status_code == 413
    bomb = gzip.compress(big + b" " * 100_000)
    assert len(bomb) < 2048
    gz = {**json_type, "content-encoding": "gzip"}
    assert small_api.post(url, content=bomb, headers=gz).status_code == 413
    assert stored(client) == 0


def test_a_gzip_body_is_accepted_and_broken_gzip_is_400(api: TestClient, clock: Clock) -> None:
    sid = register(api)
    body = json.dumps({"events": [event(clock.now)] * 20}).encode()
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    url = f"/systems/{sid}/events"

    ok = api.post(url, content=gzip.compress(body), headers=headers)
    assert (ok.status_code, ok.json()) == (202, {"accepted": 20})
    assert api.post(url, content=b"\x1f\x8b broken", headers=headers).status_code == 400
    assert api.post(url, content=gzip.compress(body)[:-10], headers=headers).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/json", "content-encoding": "br"},
    ],
)
def test_other_media_types_and_encodings_are_415(
    api: TestClient, clock: Clock, headers: dict[str, str]
) -> None:
    sid = register(api)
    body = json.dumps({"events": [event(clock.now)]}).encode()
    assert api.post(f"/systems/{sid}/events", content=body, headers=headers).status_code == 415


def test_a_retried_batch_with_the_same_event_ids_is_counted_once(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid = register(api)
    events = [
        event(clock.now, event_id=f"e{i}", status="error" if i < 2 else "ok") for i in range(5)
    ]
    post_events(api, sid, events)
    post_events(api, sid, events)  # the client timed out and sent it again
    post_events(api, sid, [event(clock.now)])  # no id: always counted
    drain()

    health = api.get(f"/systems/{sid}/health").json()
    assert (health["total"], health["errors"]) == (6, 2)


def test_a_batch_resent_with_the_same_idempotency_key_is_accepted_and_counted_once(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid = register(api)
    body = {"events": [event(clock.now, status="error"), event(clock.now)]}
    url = f"/systems/{sid}/events"
    for _ in range(3):  # the client timed out twice and retried
        assert (
            api.post(url, json=body, headers={"Idempotency-Key": "batch-7f3a"}).status_code == 202
        )
    assert api.post(url, json=body, headers={"Idempotency-Key": "batch-7f3b"}).status_code == 202
    drain()
    health = api.get(f"/systems/{sid}/health").json()
    assert (health["total"], health["errors"]) == (4, 2)


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "tab\tkey"])
def test_a_malformed_idempotency_key_is_422(api: TestClient, clock: Clock, key: str) -> None:
    sid = register(api)
    response = api.post(
        f"/systems/{sid}/events",
        json={"events": [event(clock.now)]},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "idempotency-key"]


def test_ingest_sheds_load_with_503_while_the_backlog_is_over_the_limit(
    make_api: Callable[..., TestClient], clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    api = make_api(max_lag_events=10)
    sid = register(api)
    post_events(api, sid, [event(clock.now)] * 10)
    # The cached backlog still says 0: the check made atomically with the append sheds.
    shed = api.post(f"/systems/{sid}/events", json={"events": [event(clock.now)]})
    assert shed.status_code == 503
    assert 1 <= int(shed.headers["retry-after"]) <= 60
    assert "overloaded" in shed.json()["detail"]

    drain()
    api.app.state.readiness.forget()  # type: ignore[attr-defined]
    post_events(api, sid, [event(clock.now)])
