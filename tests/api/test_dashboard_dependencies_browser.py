"""The dashboard's view of dependent systems in a real browser against a real `lso up`: a
downstream's page names its failing upstream beside its reason, lists its upstreams with their
verdicts, and shows its held notification with the reason."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from tests.api.test_dashboard_browser import Watched
from tests.support.browser import screenshot
from tests.support.up import Up, lso_up
from tests.support.wait import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.process, pytest.mark.slow]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Up, dict[str, int]]]:
    with lso_up(tmp_path_factory.mktemp("deps") / "data",
                env={"LSO_ALLOW_PRIVATE_WEBHOOKS": "1"}) as up:  # fmt: skip
        ids = {}
        for name in ("extract", "load"):
            status, body = up.call("POST", "/systems", {"name": name})
            assert status == 201, body
            ids[name] = body["system_id"]
            hook = {"kind": "webhook", "url": "http://127.0.0.1:9/nowhere"}
            assert up.call("POST", f"/systems/{ids[name]}/channels", hook)[0] == 201
        deps = {"depends_on": ["extract"]}
        assert up.call("PUT", f"/systems/{ids['load']}/dependencies", deps)[0] == 200
        failed = {"events": [{"ts": datetime.now(UTC).isoformat(), "event_type": "run",
                              "status": "error", "latency_ms": 5.0}]}  # fmt: skip
        assert up.call("POST", f"/systems/{ids['extract']}/events", failed)[0] == 202
        wait_for(lambda: up.get(f"/systems/{ids['extract']}/transitions")["transitions"], 30,
                 "extract's outage to be recorded")  # fmt: skip
        assert up.call("POST", f"/systems/{ids['load']}/events", failed)[0] == 202

        def held() -> bool:
            log = up.get(f"/systems/{ids['load']}/notifications")["notifications"]
            return bool(log) and log[0]["status"] == "held"

        wait_for(held, 30, "load's notification to be held")
        yield up, ids


def test_a_downstreams_page_names_its_upstream_and_its_held_notification(
    browser: "Browser", chain: tuple[Up, dict[str, int]]
) -> None:
    up, ids = chain
    watched = Watched(browser)
    page = watched.sign_in(up, up.admin)
    page.goto(f"{up.url}/#/systems/{ids['load']}")
    page.wait_for_selector("h1:text-is('load')")
    page.wait_for_selector(".sys-head .upstream a:text-is('extract')")
    assert "upstream extract" in (page.locator(".sys-head .reason").text_content() or "")
    page.wait_for_selector("#upstreams-h ~ .table-wrap tbody a:text-is('extract')")
    row = page.locator("#upstreams-h ~ .table-wrap tbody tr").first
    assert row.locator(".badge").text_content() == "UNHEALTHY"
    page.wait_for_selector("#notifications-h ~ .table-wrap .held-reason")
    held = page.locator("#notifications-h ~ .table-wrap .held-reason").first.text_content()
    assert held == f" (upstream extract ({ids['extract']}) is UNHEALTHY)"
    screenshot(page, "dashboard-dependencies")
    watched.clean(up.admin)
