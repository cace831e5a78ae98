"""The dependency routes: replace and read a system's upstreams, the graph, and every 4xx."""

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_auth import ADMIN, bearer
from tests.support.api import register


def put(api: TestClient, sid: int, body: Any, **kwargs: Any) -> Any:
    return api.put(f"/systems/{sid}/dependencies", json=body, **kwargs)


def test_upstreams_by_id_or_name_are_stored_and_read_back(api: TestClient) -> None:
    extract, transform, load = (register(api, n) for n in ("extract", "transform", "load"))
    answer = put(api, load, {"depends_on": ["transform", extract, transform]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"system_id": load, "depends_on": [extract, transform],
                             "dependents": []}  # fmt: skip
    assert api.get(f"/systems/{transform}/dependencies").json() == {
        "system_id": transform, "depends_on": [], "dependents": [load]
    }  # fmt: skip
    assert put(api, load, {"depends_on": []}).json()["depends_on"] == []
    assert api.get("/dependencies").json() == {"nodes": [], "edges": []}


def test_an_unknown_system_is_404(api: TestClient) -> None:
    sid = register(api, "a")
    assert put(api, 999, {"depends_on": [sid]}).status_code == 404
    assert api.get("/systems/999/dependencies").status_code == 404


def test_an_unknown_or_deleted_upstream_is_422_naming_it(api: TestClient) -> None:
    a, gone = register(api, "a"), register(api, "gone")
    assert api.delete(f"/systems/{gone}").status_code == 202
    answer = put(api, a, {"depends_on": ["nope", gone]})
    assert answer.status_code == 422
    errors = answer.json()["detail"]
    assert [(e["loc"], e["msg"]) for e in errors] == [
        (["body", "depends_on", 0], "no system 'nope'"),
        (["body", "depends_on", 1], f"no system {gone}"),
    ]
    assert api.get(f"/systems/{a}/dependencies").json()["depends_on"] == []


def test_a_cycle_is_422_naming_it_and_changes_nothing(api: TestClient) -> None:
    a, b, c = (register(api, n) for n in "abc")
    assert put(api, b, {"depends_on": [a]}).status_code == 200
    assert put(api, c, {"depends_on": [b]}).status_code == 200
    answer = put(api, a, {"depends_on": [c]})
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", "depends_on"]
    assert error["msg"] == f"would close a cycle: a ({a}) → b ({b}) → c ({c}) → a ({a})"
    itself = put(api, a, {"depends_on": ["a"]})
    assert itself.status_code == 422
    assert itself.json()["detail"][0]["msg"] == f"would close a cycle: a ({a}) → a ({a})"
    graph = api.get("/dependencies").json()
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(a, b), (b, c)}


def test_a_bad_body_is_422_with_the_field_path(api: TestClient) -> None:
    sid = register(api, "a")
    for body, loc in [
        ({}, ["body", "depends_on"]),
        ({"depends_on": "a"}, ["body", "depends_on"]),
        ({"depends_on": [0]}, ["body", "depends_on", 0]),
        ({"depends_on": [""]}, ["body", "depends_on", 0]),
        ({"depends_on": list(range(1, 102))}, ["body", "depends_on"]),
        ({"depends_on": [], "extra": 1}, ["body", "extra"]),
    ]:
        answer = put(api, sid, body)
        assert answer.status_code == 422, body
        assert any(e["loc"][: len(loc)] == loc for e in answer.json()["detail"]), answer.json()


def test_deleting_a_system_removes_its_edges_both_ways(api: TestClient) -> None:
    a, b, c = (register(api, n) for n in "abc")
    put(api, b, {"depends_on": [a]})
    put(api, c, {"depends_on": [b]})
    assert api.delete(f"/systems/{b}").status_code == 202
    assert api.get(f"/systems/{a}/dependencies").json()["dependents"] == []
    assert api.get(f"/systems/{c}/dependencies").json()["depends_on"] == []
    assert api.get("/dependencies").json()["edges"] == []


def test_the_graph_shows_only_what_the_key_may_see(make_api: Callable[..., TestClient]) -> None:
    api = make_api(auth="on", admin_token=ADMIN)
    admin = bearer(ADMIN)
    ids = [api.post("/systems", json={"name": n}, headers=admin).json()["system_id"]
           for n in ("a", "b", "c")]  # fmt: skip
    a, b, c = ids
    assert put(api, b, {"depends_on": [a]}, headers=admin).status_code == 200
    assert put(api, c, {"depends_on": [b]}, headers=admin).status_code == 200
    made = api.post(f"/systems/{a}/keys", json={"kind": "read", "systems": [a, b]},
                    headers=admin)  # fmt: skip
    assert made.status_code == 201, made.text
    reader = bearer(made.json()["token"])
    graph = api.get("/dependencies", headers=reader).json()
    assert [n["system_id"] for n in graph["nodes"]] == [a, b]
    assert graph["edges"] == [{"from": a, "to": b}]
    assert api.get(f"/systems/{b}/dependencies", headers=reader).json() == {
        "system_id": b, "depends_on": [a], "dependents": []
    }  # fmt: skip
    assert api.get(f"/systems/{c}/dependencies", headers=reader).status_code == 404
    assert put(api, b, {"depends_on": []}, headers=reader).status_code == 403
    full = api.get("/dependencies", headers=admin).json()
    assert [n["system_id"] for n in full["nodes"]] == [a, b, c]
