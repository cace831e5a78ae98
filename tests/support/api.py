"""Calls of the in-process API (a FastAPI TestClient) that the tests make again and again."""

from typing import Any, TypeVar

from fastapi.testclient import TestClient

T = TypeVar("T")


def register(
    api: TestClient, name: str = "orders-etl", policy: dict[str, Any] | None = None
) -> int:
    """Register a system (or find it by name); its id."""
    body: dict[str, Any] = {"name": name} if policy is None else {"name": name, "policy": policy}
    response = api.post("/systems", json=body)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["system_id"])


def post_events(api: TestClient, system_id: int, events: list[dict[str, Any]]) -> None:
    response = api.post(f"/systems/{system_id}/events", json={"events": events})
    assert response.status_code == 202, response.text


def add_channels(
    api: TestClient, system_id: int, url: str, kinds: tuple[str, ...]
) -> dict[str, str]:
    """One channel of each kind for the system, at `url`/<kind>; their secrets by kind."""
    secrets = {}
    for kind in kinds:
        created = api.post(
            f"/systems/{system_id}/channels", json={"kind": kind, "url": f"{url}/{kind}"}
        )
        assert created.status_code == 201, created.text
        secrets[kind] = created.json()["secret"]
    return secrets


def middleware(api: TestClient, kind: type[T]) -> T:
    """The instance of middleware `kind` in the started app's stack."""
    layer = api.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, kind):
        layer = layer.app
    return layer
