"""The OpenAPI document says who needs a key as the API behaves (api/openapi_security.py): every
operation it declares secured refuses a wrong key with 401, every other one ignores the headers,
the probes answer without a key; and the documentation pages work without a key or a CDN."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.openapi_security import SCHEME

ADMIN = "lso_a_test-admin-token-for-the-docs-0123456789"
WRONG = {"Authorization": "Bearer lso_a_not-a-key-of-this-service"}
PARAMS = {"system_id": "1", "channel_id": "1", "exit_status": "0"}  # others: any word


@pytest.fixture
def secured(make_api: Callable[..., TestClient]) -> TestClient:
    # Many wrong keys from one address in a minute: not the throttle's business here.
    return make_api(auth="on", admin_token=ADMIN, auth_failures_per_min=100_000)


def operations(api: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, concrete path, operation) for every operation of the document."""
    found = []
    for template, ops in api.get("/openapi.json").json()["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m[1], "x"), template)
        found += [(method.upper(), path, op) for method, op in ops.items()]
    return found


def test_the_document_declares_one_bearer_scheme(secured: TestClient) -> None:
    schemes = secured.get("/openapi.json").json()["components"]["securitySchemes"]
    assert list(schemes) == [SCHEME]
    assert schemes[SCHEME]["type"] == "http" and schemes[SCHEME]["scheme"] == "bearer"


def test_every_secured_operation_refuses_a_wrong_key(secured: TestClient) -> None:
    secured_ops = [
        (m, p) for m, p, op in operations(secured) if {SCHEME: []} in op.get("security", [])
    ]
    assert len(secured_ops) >= 40
    answers = {(m, p): secured.request(m, p, headers=WRONG).status_code for m, p in secured_ops}
    assert {op: status for op, status in answers.items() if status != 401} == {}


def test_every_operation_that_needs_a_key_refuses_none(secured: TestClient) -> None:
    needs = [(m, p, op) for m, p, op in operations(secured) if op.get("security") == [{SCHEME: []}]]
    answers = {(m, p): secured.request(m, p).status_code for m, p, _ in needs}
    # A handler that checks the key itself checks the body it was given first: 422 without one.
    with_body = {(m, p) for m, p, op in needs if op.get("requestBody", {}).get("required")}
    refused = {op: status for op, status in answers.items() if status != 401}
    assert set(refused) <= with_body and set(refused.values()) <= {422}, refused


def test_operations_declared_without_a_key_do_not_read_one(secured: TestClient) -> None:
    open_ops = [(m, p) for m, p, op in operations(secured) if "security" not in op]
    assert ("GET", "/ping/x") in open_ops  # a ping URL's key is in its path
    answers = {(m, p): secured.request(m, p, headers=WRONG).status_code for m, p in open_ops}
    assert {op: status for op, status in answers.items() if status == 401} == {}


def test_probes_declare_the_key_optional_and_answer_without_one(secured: TestClient) -> None:
    optional = [(m, p) for m, p, op in operations(secured) if {} in op.get("security", [])]
    assert sorted(optional) == [("GET", "/livez"), ("GET", "/readyz")]
    assert [secured.request(m, p).status_code for m, p in optional] == [200, 200]


def test_probes_need_a_key_when_they_are_not_public(make_api: Callable[..., TestClient]) -> None:
    private = make_api(auth="on", admin_token=ADMIN, public_probes=False)
    paths = private.get("/openapi.json").json()["paths"]
    assert paths["/livez"]["get"]["security"] == [{SCHEME: []}]
    assert private.get("/livez").status_code == 401


def test_without_access_control_the_document_declares_no_key(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    assert "securitySchemes" not in document.get("components", {})
    assert all("security" not in op for _, _, op in operations(api))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_need_no_key_and_no_cdn(secured: TestClient, page: str) -> None:
    html = secured.get(page)
    assert html.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert assets and all(a.startswith("/") for a in assets), assets  # nothing from elsewhere
    for asset in assets:
        answer = secured.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 1000, asset
