"""Access control: every endpoint × every kind of caller gives the documented status code."""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from tests.support.events import event
from tests.support.wait import wait_for
from worker.consumer import DrainStats

ADMIN = "lso_a_test-admin-token-for-the-suite-0123456789"
CALLERS = ["none", "admin", "ingest_a", "ingest_b", "read_a", "revoked"]


@pytest.fixture
def secured(make_api: Callable[..., TestClient]) -> TestClient:
    return make_api(auth="on", admin_token=ADMIN)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tenants(secured: TestClient) -> dict[str, Any]:
    """Systems A and B, with an ingest key each, a read key of A and a revoked key of A."""
    a = secured.post("/systems", json={"name": "a"}, headers=bearer(ADMIN)).json()
    b = secured.post("/systems", json={"name": "b"}, headers=bearer(ADMIN)).json()
    read_a = secured.post(f"/systems/{a['system_id']}/keys", json={"kind": "read"},
                          headers=bearer(ADMIN)).json()  # fmt: skip
    revoked = secured.post(f"/systems/{a['system_id']}/keys", json={"kind": "ingest"},
                           headers=bearer(ADMIN)).json()  # fmt: skip
    gone = secured.delete(f"/systems/{a['system_id']}/keys/{revoked['key_id']}",
                          headers=bearer(ADMIN))  # fmt: skip
    assert gone.status_code == 204
    return {
        "a": a["system_id"],
        "b": b["system_id"],
        "tokens": {
            "none": None,
            "admin": ADMIN,
            "ingest_a": a["ingest_key"]["token"],
            "ingest_b": b["ingest_key"]["token"],
            "read_a": read_a["token"],
            "revoked": revoked["token"],
        },
    }


def batch() -> dict[str, Any]:
    return {"events": [event(datetime.now(UTC))]}


HOOK = {"kind": "webhook", "url": "https://93.184.215.14/hook"}  # public: no DNS, passes the guard

# (method, path, body, expected codes for: none, admin, ingest_a, ingest_b, read_a, revoked)
MATRIX: list[tuple[str, str, Any, tuple[int, ...]]] = [
    ("POST", "/systems", {"name": "c"}, (401, 201, 403, 403, 403, 401)),
    ("POST", "/systems/bulk", {"systems": [{"name": "b"}]}, (401, 200, 403, 403, 403, 401)),
    ("GET", "/systems", None, (401, 200, 403, 403, 200, 401)),
    ("GET", "/systems/{a}", None, (401, 200, 403, 404, 200, 401)),
    ("POST", "/systems/{a}/events", batch, (401, 202, 202, 404, 403, 401)),
    ("GET", "/systems/{a}/events", None, (401, 200, 403, 404, 200, 401)),
    ("GET", "/systems/{a}/health", None, (401, 200, 403, 404, 200, 401)),
    ("HEAD", "/systems/{a}/health?probe=1", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/systems/{a}/health/history", None, (401, 200, 403, 404, 200, 401)),
    ("GET", "/systems/{a}/runs", None, (401, 200, 403, 404, 200, 401)),
    ("GET", "/systems/{a}/policy", None, (401, 200, 403, 404, 200, 401)),
    ("PUT", "/systems/{a}/policy", {"min_events": 5}, (401, 200, 403, 403, 403, 401)),
    ("GET", "/systems/{a}/rate-limit", None, (401, 200, 403, 404, 200, 401)),
    ("PUT", "/systems/{a}/rate-limit", {"events_per_s": 9}, (401, 200, 403, 403, 403, 401)),
    ("POST", "/systems/{a}/keys", {"kind": "read"}, (401, 201, 403, 403, 403, 401)),
    ("GET", "/systems/{a}/keys", None, (401, 200, 403, 403, 403, 401)),
    ("DELETE", "/systems/{a}/keys/nope", None, (401, 404, 403, 403, 403, 401)),
    ("GET", "/keys/current", None, (401, 200, 200, 200, 200, 401)),
    ("GET", "/health", None, (401, 200, 403, 403, 200, 401)),
    ("GET", "/admin/dead-letters", None, (401, 200, 403, 403, 403, 401)),
    ("POST", "/admin/dead-letters/replay", {}, (401, 200, 403, 403, 403, 401)),
    ("POST", "/systems/{a}/channels", HOOK, (401, 201, 403, 403, 403, 401)),
    ("GET", "/systems/{a}/channels", None, (401, 200, 403, 403, 403, 401)),
    ("DELETE", "/systems/{a}/channels/999", None, (401, 404, 403, 403, 403, 401)),
    ("POST", "/channels", HOOK, (401, 201, 403, 403, 403, 401)),
    ("GET", "/channels", None, (401, 200, 403, 403, 403, 401)),
    ("DELETE", "/channels/999", None, (401, 404, 403, 403, 403, 401)),
    ("GET", "/systems/{a}/transitions", None, (401, 200, 403, 404, 200, 401)),
    ("GET", "/systems/{a}/notifications", None, (401, 200, 403, 404, 200, 401)),
    ("GET", "/systems/{a}/mute", None, (401, 200, 403, 404, 200, 401)),
    ("GET", "/systems/{a}/dependencies", None, (401, 200, 403, 404, 200, 401)),
    ("PUT", "/systems/{a}/dependencies", {"depends_on": []}, (401, 200, 403, 403, 403, 401)),
    ("GET", "/dependencies", None, (401, 200, 403, 403, 200, 401)),
    ("DELETE", "/systems/{a}/mute", None, (401, 204, 403, 403, 403, 401)),
    # Once the admin deleted A, the keys of A alone are revoked: 401 for them.
    ("DELETE", "/systems/{a}", None, (401, 202, 401, 403, 401, 401)),
    ("GET", "/livez", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/readyz", None, (200, 200, 200, 200, 200, 401)),
    ("GET", "/metrics", None, (401, 200, 403, 403, 200, 401)),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX,
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX])  # fmt: skip
def test_every_endpoint_answers_every_caller_as_documented(
    secured: TestClient, tenants: dict[str, Any], method: str, path: str, body: Any,
    expected: tuple[int, ...],
) -> None:  # fmt: skip
    url = path.format(a=tenants["a"])
    got = []
    for caller in CALLERS:
        token = tenants["tokens"][caller]
        response = secured.request(
            method, url, json=body() if callable(body) else body,
            headers=bearer(token) if token else {},
        )  # fmt: skip
        got.append(response.status_code)
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert tuple(got) == expected


def test_an_ingest_key_of_a_never_changes_b(
    secured: TestClient, tenants: dict[str, Any], drain: Callable[..., DrainStats]
) -> None:
    b, key_a = tenants["b"], tenants["tokens"]["ingest_a"]
    before = secured.get(f"/systems/{b}/health", headers=bearer(ADMIN)).json()
    refused = secured.post(f"/systems/{b}/events", json=batch(), headers=bearer(key_a))
    unknown = secured.post("/systems/4242/events", json=batch(), headers=bearer(key_a))
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["detail"] == f"system {b} not found"  # same words as for no system
    drain()
    after = secured.get(f"/systems/{b}/health", headers=bearer(ADMIN)).json()
    assert before["total"] == after["total"] == 0


def test_keys_are_accepted_as_bearer_or_x_api_key_and_never_stored_in_clear(
    secured: TestClient, tenants: dict[str, Any], client: redis.Redis
) -> None:
    a, key = tenants["a"], tenants["tokens"]["read_a"]
    assert secured.get(f"/systems/{a}/health", headers={"X-Api-Key": key}).status_code == 200
    listed = secured.get(f"/systems/{a}/keys", headers=bearer(ADMIN)).json()["keys"]
    assert all("token" not in k for k in listed)
    assert any(k["prefix"] == key[:12] for k in listed)
    tokens = {t for t in tenants["tokens"].values() if t}
    for name in client.scan_iter("*"):
        kind = client.type(name)
        values: list[bytes] = []
        if kind == b"string":
            values = [client.get(name) or b""]
        elif kind == b"hash":
            values = [x for kv in client.hgetall(name).items() for x in kv]
        assert not any(t.encode() in v for v in values for t in tokens), name


def test_a_revoked_key_is_refused_within_a_second(
    secured: TestClient, tenants: dict[str, Any]
) -> None:
    a = tenants["a"]
    new = secured.post(f"/systems/{a}/keys", json={"kind": "ingest"}, headers=bearer(ADMIN)).json()
    assert (
        secured.post(f"/systems/{a}/events", json=batch(), headers=bearer(new["token"])).status_code
        == 202
    )
    revoked_at = time.monotonic()
    secured.delete(f"/systems/{a}/keys/{new['key_id']}", headers=bearer(ADMIN))
    wait_for(
        lambda: secured.post(f"/systems/{a}/events", json=batch(),
                             headers=bearer(new["token"])).status_code == 401,
        1.5 - (time.monotonic() - revoked_at),  # within 1.5 s of the revocation
        "the revoked key to be refused",
        interval_s=0.05,
    )  # fmt: skip


def test_keys_survive_a_restart_of_the_api(
    make_api: Callable[..., TestClient], tenants: dict[str, Any]
) -> None:
    again = make_api(auth="on", admin_token=ADMIN)
    key = tenants["tokens"]["read_a"]
    assert again.get(f"/systems/{tenants['a']}/health", headers=bearer(key)).status_code == 200


def test_a_read_key_may_cover_several_systems(secured: TestClient, tenants: dict[str, Any]) -> None:
    a, b = tenants["a"], tenants["b"]
    both = secured.post(f"/systems/{a}/keys", json={"kind": "read", "systems": [a, b]},
                        headers=bearer(ADMIN)).json()  # fmt: skip
    seen = secured.get("/systems", headers=bearer(both["token"])).json()["systems"]
    assert [s["system_id"] for s in seen] == [a, b]
    only_a = secured.get("/systems", headers=bearer(tenants["tokens"]["read_a"])).json()
    assert [s["system_id"] for s in only_a["systems"]] == [a]
    bad = secured.post(f"/systems/{a}/keys", json={"kind": "read", "systems": [a, 999]},
                       headers=bearer(ADMIN))  # fmt: skip
    assert bad.status_code == 404


def test_the_current_key_says_what_it_is_and_what_it_sees(
    secured: TestClient, tenants: dict[str, Any]
) -> None:
    def current(caller: str) -> dict[str, Any]:
        answer = secured.get("/keys/current", headers=bearer(tenants["tokens"][caller]))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    assert current("admin") == {"kind": "admin", "key_id": "env", "systems": None,
                                "namespace": None}  # fmt: skip
    read_a = current("read_a")
    assert (read_a["kind"], read_a["systems"]) == ("read", [tenants["a"]])
    assert current("ingest_b")["systems"] == [tenants["b"]]
    assert "token" not in read_a


def test_repeated_failures_from_one_address_are_throttled(
    make_api: Callable[..., TestClient],
) -> None:
    api = make_api(auth="on", admin_token=ADMIN, auth_failures_per_min=5)
    codes = [api.get("/health", headers=bearer(f"wrong-{i}")).status_code for i in range(7)]
    assert codes == [401] * 5 + [429] * 2
    blocked = api.get("/health", headers=bearer("wrong-again"))
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    # A valid key from the same address is never refused by the throttle: with 256-bit keys the
    # throttle is against floods of bad keys, and must not let them lock out the good ones.
    assert api.get("/health", headers=bearer(ADMIN)).status_code == 200


def test_request_ids_are_echoed_or_made_up(secured: TestClient) -> None:
    given = secured.get("/livez", headers={"X-Request-ID": "etl-42.retry:1"})
    assert given.headers["x-request-id"] == "etl-42.retry:1"
    made = secured.get("/livez", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32


def test_cors_is_off_by_default_and_follows_the_allow_list(
    make_api: Callable[..., TestClient],
) -> None:
    preflight = {"Origin": "https://dash.example", "Access-Control-Request-Method": "GET"}
    off = make_api(auth="on", admin_token=ADMIN).options("/health", headers=preflight)
    assert "access-control-allow-origin" not in off.headers
    on = make_api(auth="on", admin_token=ADMIN, cors_origins="https://dash.example")
    allowed = on.options("/health", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example"


def test_without_public_probes_even_probes_need_a_key(
    make_api: Callable[..., TestClient],
) -> None:
    api = make_api(auth="on", admin_token=ADMIN, public_probes=False)
    assert api.get("/readyz").status_code == 401
    assert api.get("/readyz", headers=bearer(ADMIN)).status_code == 200


def test_auth_off_warns_loudly(
    make_api: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    make_api(auth="off")
    assert any(
        "LSO_AUTH=off" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records
    )
