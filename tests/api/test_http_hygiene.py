"""HTTP answers that must not be built from what a client chose: no slash redirect from the Host
header, only the allowed hosts when they are set, and an Allow header that names GET."""

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_a_trailing_slash_is_not_redirected_to_the_host_the_client_named(
    api: TestClient,
) -> None:
    sid = api.post("/systems", json={"name": "slash"}).json()["system_id"]
    answer = api.get(
        f"/systems/{sid}/health/", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert answer.status_code == 404
    assert "location" not in answer.headers


def test_only_the_allowed_hosts_are_served(make_api: Callable[..., TestClient]) -> None:
    api = make_api(allowed_hosts="lso.example.com,*.lso.internal")
    assert api.get("/livez", headers={"Host": "lso.example.com"}).status_code == 200
    assert api.get("/livez", headers={"Host": "a.lso.internal"}).status_code == 200
    assert api.get("/livez", headers={"Host": "evil.example"}).status_code == 400


def test_options_on_the_health_path_allows_get_and_head(api: TestClient) -> None:
    sid = api.post("/systems", json={"name": "options"}).json()["system_id"]
    answer = api.options(f"/systems/{sid}/health")
    assert answer.status_code in (200, 204, 405)
    assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "HEAD"}
