"""The registry: POST /systems is idempotent by name, ids are never reused."""

import pytest
from fastapi.testclient import TestClient


def test_a_new_name_is_created_and_the_same_name_again_returns_it(api: TestClient) -> None:
    created = api.post("/systems", json={"name": "orders-etl", "description": "nightly orders"})
    again = api.post("/systems", json={"name": "orders-etl"})

    assert created.status_code == 201
    body = created.json()
    key = body.pop("ingest_key")
    assert key["kind"] == "ingest" and key["systems"] == [body["system_id"]] and key["token"]
    assert set(body) == {"system_id", "name", "description", "created_at"}
    assert body["system_id"] >= 1 and body["name"] == "orders-etl"
    assert body["description"] == "nightly orders"
    assert again.status_code == 200 and again.json() == body


def test_ids_are_assigned_in_order_and_listed_by_id(api: TestClient) -> None:
    ids = [api.post("/systems", json={"name": f"etl-{n}"}).json()["system_id"] for n in "cab"]
    assert ids == sorted(ids) and len(set(ids)) == 3
    listed = api.get("/systems").json()["systems"]
    assert [s["system_id"] for s in listed] == ids
    assert [s["name"] for s in listed] == ["etl-c", "etl-a", "etl-b"]


def test_one_system_is_read_by_id_and_an_unknown_id_is_404(api: TestClient) -> None:
    sid = api.post("/systems", json={"name": "billing"}).json()["system_id"]
    assert api.get(f"/systems/{sid}").json()["name"] == "billing"
    missing = api.get(f"/systems/{sid + 1}")
    assert missing.status_code == 404 and "detail" in missing.json()
    assert api.get("/systems/not-a-number").status_code == 422


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 129}, ["body", "name"]),
        ({"name": "has space"}, ["body", "name"]),
        ({"name": "semi;colon"}, ["body", "name"]),
        ({"name": "back\\slash"}, ["body", "name"]),
        ({}, ["body", "name"]),
        ({"name": "ok", "colour": "red"}, ["body", "colour"]),
        ({"name": 5}, ["body", "name"]),
    ],
)
def test_invalid_registrations_are_422_with_the_field(
    api: TestClient, body: dict[str, object], loc: list[str]
) -> None:
    response = api.post("/systems", json=body)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [loc]
    assert api.get("/systems").json()["systems"] == []


def test_the_longest_valid_name_is_accepted(api: TestClient) -> None:
    name = "A-z_0.9" + "x" * 121
    assert api.post("/systems", json={"name": name}).status_code == 201
