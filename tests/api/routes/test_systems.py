"""The registry: POST /systems is idempotent by name, ids are never reused."""

import pytest
import redis
from fastapi.testclient import TestClient

from shared.settings import Settings
from shared.store import keys
from tests.support.api import register


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


def test_bulk_registration_registers_many_in_one_request_idempotently(
    api: TestClient, client: redis.Redis
) -> None:
    existing = register(api, "bulk/existing")
    names = [f"bulk/s{i:04}" for i in range(998)] + ["bulk/existing", "bulk/s0000"]
    body = {"systems": [{"name": n} for n in names]}
    body["systems"][1]["policy"] = {"expected_interval_seconds": 30, "grace_seconds": 10}
    answer = api.post("/systems/bulk", json=body)

    assert answer.status_code == 200, answer.text
    got = answer.json()["systems"]
    assert [s["name"] for s in got] == names
    assert [s["created"] for s in got] == [True] * 998 + [False, False]
    assert got[-2]["system_id"] == existing and got[-1]["system_id"] == got[0]["system_id"]
    listed = {s["name"]: s["system_id"] for s in api.get("/systems").json()["systems"]}
    assert all(listed[s["name"]] == s["system_id"] for s in got)
    policy = api.get(f"/systems/{got[1]['system_id']}/policy").json()["policy"]
    assert (policy["expected_interval_seconds"], policy["grace_seconds"]) == (30, 10)
    # every new system is due for its first evaluation (its verdict, its silence due time)
    dirty = sum(client.zcard(keys.dirty(p)) for p in range(Settings().partitions))
    assert dirty == 999  # with "bulk/existing", registered the usual way just before


def test_bulk_registration_refuses_a_bad_item_whole_naming_its_index(api: TestClient) -> None:
    bad_policy = {"degraded_error_rate": 0.6, "unhealthy_error_rate": 0.5}
    body = {"systems": [{"name": "ok-1"}, {"name": "bad", "policy": bad_policy}]}
    answer = api.post("/systems/bulk", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][:3] == ["body", "systems", 1]
    assert api.post("/systems/bulk", json={"systems": [{"name": "x y"}]}).status_code == 422
    too_many = {"systems": [{"name": f"n{i}"} for i in range(1001)]}
    assert api.post("/systems/bulk", json=too_many).status_code == 422
    assert api.get("/systems").json()["systems"] == []  # nothing of a refused request is kept
