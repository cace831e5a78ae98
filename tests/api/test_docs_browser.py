"""/docs and /redoc in a real browser against a real `lso up`, with nothing reachable but loopback:
Swagger UI lists the operations, "Authorize" takes the admin key and "Try it out" on
`GET /systems` gets a 200; ReDoc renders the same document. Screenshots: `docs`,
`docs-try-it-out` (the key in its curl line masked), `redoc` (tests/support/browser.py; the
README shows `docs` and `redoc`)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, ViewportSize, expect

from tests.support.browser import local_only, screenshot
from tests.support.up import Up, lso_up

pytestmark = [pytest.mark.process, pytest.mark.slow]
VIEWPORT: ViewportSize = {"width": 1200, "height": 860}


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    with lso_up(tmp_path_factory.mktemp("docs") / "data", kind=Up) as started:
        status, _ = started.call("POST", "/systems", {"name": "nightly-etl"})
        assert status == 201
        yield started


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def test_swagger_ui_authorizes_and_tries_an_operation_offline(up: Up, page: Page) -> None:
    offsite = local_only(page)
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if r.url == up.url + "/systems" else None)
    page.goto(up.url + "/docs")

    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 40
    page.locator(".auth-wrapper button.authorize").click()
    bearer = page.locator(".modal-ux .auth-container", has_text="bearerAuth")
    bearer.locator("input").fill(up.admin)
    bearer.locator("button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()
    expect(page.locator(".auth-wrapper button.authorize.locked")).to_be_visible()
    screenshot(page, "docs")

    read_systems = page.locator(".opblock-get", has=page.locator('[data-path="/systems"]'))
    read_systems.locator(".opblock-summary").click()
    read_systems.locator("button.try-out__btn").click()
    read_systems.locator("button.execute").click()
    status = read_systems.locator(".live-responses-table tr.response .response-col_status")
    expect(status.first).to_have_text("200")
    expect(
        read_systems.locator(".live-responses-table tr.response .response-col_description")
    ).to_contain_text("nightly-etl")
    assert [r.headers.get("authorization") for r in sent] == [f"Bearer {up.admin}"]
    assert offsite == []
    status.first.scroll_into_view_if_needed()
    shot = screenshot(page, "docs-try-it-out", mask=[read_systems.locator(".curl-command")])
    assert shot.stat().st_size > 10_000


def test_redoc_renders_the_document_offline(up: Up, page: Page) -> None:
    offsite = local_only(page)
    page.goto(up.url + "/redoc")
    expect(page.locator("h1").first).to_contain_text("LSO")
    expect(page.get_by_text("Read Systems").first).to_be_attached()
    assert offsite == []
    shot = screenshot(page, "redoc")
    assert shot.stat().st_size > 10_000


def test_screenshots_land_in_the_artefact_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, page: Page
) -> None:
    monkeypatch.setenv("LSO_ARTIFACTS_DIR", str(tmp_path / "shots"))
    page.set_content("<h1>hello</h1>")
    assert screenshot(page, "hello") == tmp_path / "shots" / "hello.png"
    assert (tmp_path / "shots" / "hello.png").read_bytes()[:4] == b"\x89PNG"
