"""Request builders for the API tests."""

from datetime import datetime
from typing import Any, TypeVar

import redis
from fastapi.testclient import TestClient

from shared.settings import Settings
from shared.store import keys, layout

T = TypeVar("T")


def event(
    ts: datetime, *, status: str = "ok", latency_ms: float = 12.5, **extra: Any
) -> dict[str, Any]:
    return {
        "ts": ts.isoformat(),
        "event_type": "load",
        "status": status,
        "latency_ms": latency_ms,
        **extra,
    }


def register(api: TestClient, name: str = "orders-etl") -> int:
    response = api.post("/systems", json={"name": name})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["system_id"])


def post_events(api: TestClient, system_id: int, events: list[dict[str, Any]]) -> None:
    response = api.post(f"/systems/{system_id}/events", json={"events": events})
    assert response.status_code == 202, response.text


def middleware(api: TestClient, kind: type[T]) -> T:
    """The instance of middleware `kind` in the started app's stack."""
    layer = api.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, kind):
        layer = layer.app
    return layer


def partition(client: redis.Redis, system_id: int) -> int:
    """The partition of a registered system (shared/store/layout.py)."""
    found = layout.load_sync(client, Settings().partitions).partition_of(system_id)
    assert found is not None, f"system {system_id} is not registered"
    return found


def stream_entries(client: redis.Redis) -> int:
    """Entries in every ingest stream."""
    streams = layout.load_sync(client, Settings().partitions).streams
    return sum(int(client.xlen(keys.stream(p))) for p in range(streams))
