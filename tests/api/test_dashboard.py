"""The dashboard's static files (api/routes/dashboard.py): served without a key, with their content
types and a strict Content-Security-Policy, only the files of api/ui/ (no traversal), `/`,
`/dashboard` and `/ui` leading there; and the pages' own code never parses markup."""

import re
import tomllib
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.routes.dashboard import ASSETS, ASSETS_DIR, CONTENT_SECURITY_POLICY
from tests.support.processes import REPO

SECURED = {"auth": "on", "admin_token": "lso_a_dashboard-test-admin-token-0123456789abcd"}


@pytest.fixture
def secured(make_api: Callable[..., TestClient]) -> TestClient:
    return make_api(**SECURED)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/ui/", "text/html"),
        ("/ui/index.html", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
        ("/ui/vendor/uplot/uPlot.iife.min.js", "text/javascript"),
        ("/ui/vendor/uplot/uPlot.min.css", "text/css"),
        ("/ui/vendor/uplot/LICENSE", "text/plain"),
    ],
)
def test_the_files_load_without_a_key_with_their_type_and_a_strict_policy(
    secured: TestClient, path: str, media_type: str
) -> None:
    answer = secured.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].split(";")[0] == media_type
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY


def test_a_file_is_revalidated_with_its_etag(secured: TestClient) -> None:
    first = secured.get("/ui/app.js")
    again = secured.get("/ui/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    head = secured.head("/ui/app.js")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(first.content))


@pytest.mark.parametrize("path", ["/", "/dashboard", "/ui"])
def test_the_usual_addresses_lead_to_the_dashboard(secured: TestClient, path: str) -> None:
    answer = secured.get(path, follow_redirects=False, headers={"Host": "evil.example"})
    assert answer.status_code == 307
    assert answer.headers["location"] == "/ui/"  # relative: never the Host a client chose


@pytest.mark.parametrize(
    "path",
    [
        "/ui/nope.js",
        "/ui/vendor",
        "/ui/vendor/",
        "/ui/../pyproject.toml",
        "/ui/%2e%2e/%2e%2e/pyproject.toml",
        "/ui/..%2f..%2fpyproject.toml",
        "/ui/vendor/uplot/../../../routes/dashboard.py",
        "/ui//etc/passwd",
        "/ui/%00",
    ],
)
def test_only_the_dashboards_own_files_are_served(secured: TestClient, path: str) -> None:
    answer = secured.get(path)
    assert answer.status_code == 404, (path, answer.status_code)
    assert "import" not in answer.text and "root:" not in answer.text


def test_other_methods_are_refused(secured: TestClient) -> None:
    assert secured.post("/ui/app.js").status_code == 405


def test_every_file_of_the_directory_is_served_and_packaged() -> None:
    on_disk = {p.relative_to(ASSETS_DIR).as_posix() for p in ASSETS_DIR.rglob("*") if p.is_file()}
    assert set(ASSETS) == on_disk  # no file left out by an unknown extension
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["api"]
    unpackaged = [f for f in on_disk if not any(fnmatch(f"ui/{f}", p) for p in patterns)]
    assert not unpackaged, f"add them to pyproject's package-data: {unpackaged}"
    assert (ASSETS_DIR / "vendor" / "uplot" / "LICENSE").read_text().startswith("The MIT License")


# What would parse text as markup or run text as code: none of it in the dashboard's own code.
_MARKUP_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setAttribute\(\s*['\"](on|style)|createContextualFragment"
)


@pytest.mark.parametrize("script", sorted(p.name for p in ASSETS_DIR.glob("*.js")))
def test_the_pages_code_never_parses_markup(script: str) -> None:
    code = Path(ASSETS_DIR / script).read_text()
    comments_out = re.sub(r"//[^\n]*", "", code)
    assert not _MARKUP_SINKS.search(comments_out), script


def test_the_page_has_no_inline_script_or_style() -> None:
    page = (ASSETS_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son\w+\s*=", page)  # no inline event handler


def test_a_systems_page_shows_its_upstreams_and_why_a_notification_is_held() -> None:
    system = (ASSETS_DIR / "system.js").read_text()
    panels = (ASSETS_DIR / "panels.js").read_text()
    # the failing upstream the health answer names, beside its reason
    assert "health.upstream" in system and "Failing upstream" in system
    # every upstream with its verdict, and the held state of a notification with its reason
    assert "/systems/${this.id}/dependencies" in panels and 'get("/dependencies")' in panels
    assert "d.held_reason" in panels and "d.held_until" in panels
