"""Browser tests: a headless Chromium driven by Playwright, and the screenshots they leave.

The interface, for every test of a page LSO serves (/docs, the dashboard):

    pytestmark = pytest.mark.process

    def test_the_page(browser: Browser) -> None:   # the fixture (tests/conftest.py loads it)
        page = browser.new_page()
        offsite = local_only(page)                 # before the first request
        page.goto(url)
        ...
        assert offsite == []
        screenshot(page, "the-page")

- `browser`: a pytest fixture, one Playwright (sync API) `Browser` per test module. It is Debian's
  Chromium (`/usr/bin/chromium`, or `LSO_CHROMIUM`): Playwright's own browser download is not
  reachable everywhere the suite runs. Launched headless, with `--no-sandbox` as root (Chromium's
  sandbox refuses to run as root). A test that asks for it is skipped, saying why, when Playwright
  or Chromium is missing; `scripts/test` installs Chromium where it can.
- `chromium()`: the same browser as a context manager, for use outside a fixture.
- `local_only(page) -> list[str]`: from now on every request of the page that is not for
  loopback is aborted and its URL appended to the returned list; a page that works offline
  leaves it empty.
- `screenshot(page, name, *, full_page=False, mask=()) -> Path`: the page as `<name>.png` (the
  `mask` locators painted over: keys on screen) in the one artefact directory,
  `LSO_ARTIFACTS_DIR` or else `artifacts/screenshots/` in the repository (git-ignored; see
  .ci/run for CI). The same name overwrites: name a screenshot after what it shows.
  `artifacts_dir()` is that directory.
"""

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.support.processes import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, Route

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def artifacts_dir() -> Path:
    """Where screenshots go (made if missing)."""
    found = Path(os.environ.get("LSO_ARTIFACTS_DIR") or REPO / "artifacts" / "screenshots")
    found.mkdir(parents=True, exist_ok=True)
    return found


def chromium_path() -> str | None:
    wanted = os.environ.get("LSO_CHROMIUM", "/usr/bin/chromium")
    return wanted if os.access(wanted, os.X_OK) else shutil.which("chromium")


@contextmanager
def chromium() -> Iterator["Browser"]:
    """A headless Chromium until the block ends; skips the test when there is none to drive."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (`.venv/bin/pip install -e '.[dev]'`)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: `apt-get install chromium` (scripts/test does so as root)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    with chromium() as launched:
        yield launched


def local_only(page: "Page") -> list[str]:
    """Abort the page's requests for anywhere but loopback; the list fills with their URLs."""
    offsite: list[str] = []

    def guard(route: "Route") -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOOPBACK:
            offsite.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    return offsite


def screenshot(
    page: "Page", name: str, *, full_page: bool = False, mask: Sequence["Locator"] = ()
) -> Path:
    """Save what the page shows (the viewport; all of it with `full_page`) as `<name>.png`, the
    elements of `mask` (a key on screen) painted over."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, mask=list(mask), mask_color="#555")
    return path
