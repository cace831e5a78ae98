"""Hostile and broken input: every case is a documented 4xx, never a 500, never partial damage."""

import json
from datetime import datetime

import pytest
import redis
from fastapi.testclient import TestClient

from tests.support.api import register
from tests.support.clock import Clock
from tests.support.events import event
from tests.support.store import stream_entries

JSON = {"content-type": "application/json"}


def raw_event(at: datetime, **fields: str) -> str:
    """One event as JSON text, with some fields given as raw JSON fragments."""
    base = {k: json.dumps(v) for k, v in event(at).items()}
    base.update(fields)
    return "{" + ",".join(f'"{k}":{v}' for k, v in base.items()) + "}"


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"latency_ms": "NaN"}, 422),
        ({"latency_ms": "Infinity"}, 422),
        ({"latency_ms": "-Infinity"}, 422),
        ({"latency_ms": "1e400"}, 422),
        ({"latency_ms": "1e308"}, 422),
        ({"latency_ms": "-0.0"}, 202),
        ({"latency_ms": "true"}, 422),
        ({"system_id": "123456789012345678901234567890"}, 422),
        ({"system_id": "1.5"}, 422),
        ({"ts": '"9999-12-31T23:59:59Z"'}, 422),
        ({"ts": '"0001-01-01T00:00:00Z"'}, 422),  # older than anything LSO keeps
        ({"ts": '"1764579600"'}, 422),  # unix seconds in a string: not RFC 3339
        ({"ts": '"2026-02-30T00:00:00Z"'}, 422),
        ({"ts": '"2026-01-01T00:00:00+25:00"'}, 422),
        ({"event_type": '"\\ud800"'}, 422),
        ({"event_type": '"\\u0000"'}, 422),  # control characters: never in an identifier
        ({"event_type": '"load\\u202e"'}, 422),  # a bidi override
        ({"stage": '"\\u0007"'}, 422),
        ({"event_type": '"' + "é" * 64 + '"'}, 202),
        ({"event_type": '"' + "🙂" * 65 + '"'}, 422),
        ({"payload": nested(10)}, 202),
        ({"payload": nested(5000)}, 422),
        ({"payload": '{"k": "\\udfff"}'}, 422),
        ({"payload": '{"big": 909045935594012449140024037649416192}'}, 422),
        ({"payload": '{"big": -9223372036854775808}'}, 202),
        ({"run_id": "[1]"}, 422),
        ({"stage": "{}"}, 422),
    ],
)
def test_edge_values_are_accepted_or_rejected_cleanly(
    api: TestClient, clock: Clock, client: redis.Redis, fields: dict[str, str], status: int
) -> None:
    sid = register(api)
    body = '{"events": [' + raw_event(clock.now, **fields) + "]}"
    response = api.post(f"/systems/{sid}/events", content=body.encode(), headers=JSON)
    assert response.status_code == status, response.text
    if status == 422:
        assert stream_entries(client) == 0


def test_duplicate_keys_take_the_last_value(api: TestClient, clock: Clock) -> None:
    sid = register(api)
    body = '{"events": [' + raw_event(clock.now, latency_ms='-1, "latency_ms": 5') + "]}"
    response = api.post(f"/systems/{sid}/events", content=body.encode(), headers=JSON)
    assert response.status_code == 202


def test_a_million_tiny_events_are_refused_without_being_stored(
    api: TestClient, client: redis.Redis
) -> None:
    sid = register(api)
    body = b'{"events": [' + b",".join([b"{}"] * 1_000_000) + b"]}"
    response = api.post(f"/systems/{sid}/events", content=body, headers=JSON)
    assert response.status_code == 422  # 3 MB fits the 4 MiB body limit; 5000 events do not
    assert response.json()["detail"] == [
        {
            "type": "too_long",
            "loc": ["body", "events"],
            "msg": "List should have at most 5000 items after validation, not 1000000",
            "ctx": {"field_type": "List", "max_length": 5000, "actual_length": 1000000},
        }
    ]
    twice = b'{"events": [' + b",".join([b"{}"] * 2_000_000) + b"]}"
    assert api.post(f"/systems/{sid}/events", content=twice, headers=JSON).status_code == 413
    assert stream_entries(client) == 0


@pytest.mark.parametrize(
    "path", ["/systems/0/events", "/systems/-1/events", "/systems/1e3/events", "/systems/x/events"]
)
def test_path_ids_that_are_not_positive_integers_are_422(api: TestClient, path: str) -> None:
    assert api.post(path, json={"events": []}).status_code == 422


def test_a_huge_path_id_is_simply_unknown(api: TestClient) -> None:
    response = api.post("/systems/99999999999999999999999/events", json={"events": []})
    assert response.status_code in (404, 422)


@pytest.mark.parametrize(
    "body", [b"", b"null", b"[]", b'"events"', b"{", b'{"events": {}}', b"\xff\xfe", b"{}" * 3]
)
def test_bodies_that_are_not_a_batch_are_422(api: TestClient, body: bytes) -> None:
    sid = register(api)
    assert api.post(f"/systems/{sid}/events", content=body, headers=JSON).status_code == 422


def test_oversized_headers_are_refused_by_the_server_not_the_app(api: TestClient) -> None:
    # Under uvicorn (httptools) a header block over its limit is answered 431/400 before the app;
    # in-process the app must at least not fail on a very long header value.
    sid = register(api)
    response = api.post(
        f"/systems/{sid}/events", json={"events": []}, headers={"x-junk": "j" * 100_000}
    )
    assert response.status_code == 422
