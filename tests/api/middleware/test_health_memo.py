"""The health memo serves a repeated read from memory only while the answer cannot differ."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from api.middleware.health_memo import HealthMemo
from tests.support.api import middleware, post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from worker.consumer import DrainStats

ADMIN = "memo-admin-token-0123456789"


def test_a_repeated_read_in_the_same_second_is_served_from_memory(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid = register(api)
    post_events(api, sid, [event(clock.now)] * 3)
    drain()
    first = api.get(f"/systems/{sid}/health")
    hits = middleware(api, HealthMemo).hits
    again = api.get(f"/systems/{sid}/health")

    assert again.json() == first.json() and again.json()["total"] == 3
    assert middleware(api, HealthMemo).hits == hits + 1
    assert again.headers["x-request-id"] != first.headers["x-request-id"]


def test_new_data_is_visible_at_once_in_the_same_second(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid = register(api)
    post_events(api, sid, [event(clock.now)])
    drain()
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1
    post_events(api, sid, [event(clock.now, status="error")])
    drain()
    h = api.get(f"/systems/{sid}/health").json()
    assert (h["total"], h["errors"]) == (2, 1)


def test_the_next_second_and_a_new_policy_are_recomputed(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    sid = register(api)
    post_events(api, sid, [event(clock.now - timedelta(seconds=299))])
    drain()
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1
    clock.now += timedelta(seconds=2)  # the event has left the 300-s window
    assert api.get(f"/systems/{sid}/health").json()["total"] == 0
    api.put(f"/systems/{sid}/policy", json={"window_seconds": 600}).raise_for_status()
    assert api.get(f"/systems/{sid}/health").json()["total"] == 1


def test_credentials_are_part_of_the_key(
    make_api: Callable[..., TestClient], clock: Clock, drain: Callable[..., DrainStats]
) -> None:
    api = make_api(auth="on", admin_token=ADMIN)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    sid = api.post("/systems", json={"name": "memo"}, headers=admin).json()["system_id"]
    assert api.get(f"/systems/{sid}/health", headers=admin).status_code == 200
    assert api.get(f"/systems/{sid}/health").status_code == 401
    wrong = {"Authorization": "Bearer lso_wrong_0000000000000000"}
    assert api.get(f"/systems/{sid}/health", headers=wrong).status_code == 401


def test_errors_are_not_kept(api: TestClient) -> None:
    assert api.get("/systems/999999/health").status_code == 404
    sid = register(api)
    assert api.get(f"/systems/{sid}/health").status_code == 200


def test_concurrent_misses_compute_once(
    api: TestClient, clock: Clock, drain: Callable[..., DrainStats], monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = register(api)
    post_events(api, sid, [event(clock.now)])
    drain()
    reader = api.app.state.health_reader  # type: ignore[attr-defined]
    original, calls = reader.read, []

    async def slow_read(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        await asyncio.sleep(0.05)  # long enough for every request below to arrive meanwhile
        return await original(*args, **kwargs)

    monkeypatch.setattr(reader, "read", slow_read)

    async def get_many(n: int) -> list[tuple[int, bytes]]:
        async def one() -> tuple[int, bytes]:
            sent: list[Message] = []

            async def receive() -> Message:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: Message) -> None:
                sent.append(message)

            scope = {"type": "http", "method": "GET", "path": f"/systems/{sid}/health",
                     "raw_path": f"/systems/{sid}/health".encode(), "query_string": b"",
                     "headers": [(b"host", b"test")], "http_version": "1.1", "scheme": "http",
                     "server": ("test", 80), "client": ("127.0.0.1", 1), "root_path": "",
                     "app": api.app}  # fmt: skip
            await api.app(scope, receive, send)  # type: ignore[attr-defined]
            return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

        return await asyncio.gather(*(one() for _ in range(n)))

    answers = api.portal.call(get_many, 8)  # type: ignore[union-attr]
    assert len(calls) == 1, "one computation for eight simultaneous misses"
    assert {status for status, _ in answers} == {200} and len({body for _, body in answers}) == 1
