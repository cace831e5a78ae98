"""The dashboard in a real browser (Playwright driving Debian's Chromium) against a real `lso up`
with a small fleet: sign in, the systems with their verdicts worst first, filters, a system's
page with its charts drawn from data, admin actions, a read key's narrower view, and text that
users wrote (an `<img onerror>` probe as a system name, stage, event type and error) shown as
text. Screenshots of each page go to the artefact directory (tests/support/browser.py); the
README's copies are taken from there."""

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import redis

from lso import local
from shared.store import keys
from tests.support.browser import local_only, screenshot
from tests.support.up import Up, lso_up
from tests.support.wait import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

pytestmark = [pytest.mark.process, pytest.mark.slow]

PROBE = "<img src=x onerror=window.__xss=1>"
REFUSED = "Failed to load resource: the server responded with a status of 4"
EXPECTED = {
    "orders-etl": "OK",
    "billing/invoices": "DEGRADED",
    "ml/train-model": "UNHEALTHY",
    "reports/nightly": "NO_DATA",
    PROBE: "UNHEALTHY",
    "zz-after-the-probe": "NO_DATA",  # registered after the probe's name was changed
}


def events_over_the_last_hour(
    now: datetime, rng: random.Random, *, error_rate: float, recent_error_rate: float | None = None,
    runs: bool = False, stage: str | None = None, event_type: str = "load",
    error: str = "duplicate key",
) -> list[dict[str, Any]]:  # fmt: skip
    """About 20 events a minute over the last hour, latencies lognormal around ~200 ms; with
    `runs`, a run of three stages every five minutes."""
    found = []
    for minute in range(60, 0, -1):
        rate = error_rate if recent_error_rate is None or minute > 8 else recent_error_rate
        start = now - timedelta(minutes=minute)
        run_id = f"orders-{start:%H%M}" if runs and minute % 5 == 0 else None
        spacing_s = rng.uniform(1.5, 2.4)  # runs of 17 to 26 s
        for i in range(rng.randint(14, 26)):
            failed = rng.random() < rate
            stages = ("extract", "transform", "load")
            found.append({
                "ts": (start + timedelta(seconds=i * spacing_s)).isoformat(),
                "event_type": event_type,
                "status": "error" if failed else "ok",
                "latency_ms": round(rng.lognormvariate(5.2, 0.5), 1),
                "stage": stage or (stages[i % 3] if runs else None),
                "run_id": run_id if run_id and i < 12 else None,
                "payload": {"error": error, "table": "orders"} if failed else {"rows": i * 10},
            })  # fmt: skip
    return found


def seed(up: Up) -> dict[str, int]:
    """The fleet of EXPECTED, its verdicts recorded by the jobs; ids by name."""
    now = datetime.now(UTC)
    rng = random.Random(17)
    ids = {}
    for name in list(EXPECTED)[:-1]:
        stored = "xss-probe" if name == PROBE else name
        status, body = up.call("POST", "/systems", {
            "name": stored, "description": f"the {stored} pipeline" if name != PROBE else PROBE,
        })  # fmt: skip
        assert status == 201, body
        ids[name] = body["system_id"]
    assert up.call("POST", "/systems", {"name": PROBE})[0] == 422  # names are plain words
    # ... but the page must not trust the registry either: a hostile name put in the store.
    with store(up) as client:
        doc = json.loads(client.hget(keys.REGISTRY_SYSTEMS, str(ids[PROBE])) or "{}")
        client.hset(keys.REGISTRY_SYSTEMS, str(ids[PROBE]), json.dumps({**doc, "name": PROBE}))
    status, body = up.call("POST", "/systems", {"name": "zz-after-the-probe"})  # a new listing
    assert status == 201, body
    ids["zz-after-the-probe"] = body["system_id"]

    batches = {
        "orders-etl": events_over_the_last_hour(now, rng, error_rate=0.01, runs=True),
        "billing/invoices": events_over_the_last_hour(now, rng, error_rate=0.2),
        "ml/train-model": events_over_the_last_hour(
            now, rng, error_rate=0.02, recent_error_rate=0.7, error="CUDA out of memory"
        ),
        PROBE: events_over_the_last_hour(
            now, rng, error_rate=0.8, stage=PROBE, event_type=PROBE, error=PROBE
        ),
    }
    for name, events in batches.items():
        status, body = up.call("POST", f"/systems/{ids[name]}/events", {"events": events})
        assert status == 202, body
    old = [{"ts": (now - timedelta(minutes=30)).isoformat(), "event_type": "nightly",
            "status": "ok", "latency_ms": 5000.0}]  # fmt: skip
    assert up.call("POST", f"/systems/{ids['reports/nightly']}/events", {"events": old})[0] == 202

    def recorded() -> bool:
        lines = up.get("/health")["systems"]
        return {line["name"]: line["health"] for line in lines} == EXPECTED and all(
            line["since"] is not None for line in lines
        )

    wait_for(recorded, 60, "the jobs to record every verdict")
    return ids


class store:
    """The embedded store of a running `lso up` (a plain client, for what the API refuses)."""

    def __init__(self, up: Up) -> None:
        self.url = local.find(up.data_dir).settings.redis_url

    def __enter__(self) -> redis.Redis:
        self.client = redis.Redis.from_url(self.url)
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Up, dict[str, int]]]:
    with lso_up(tmp_path_factory.mktemp("dashboard") / "data") as up:
        yield up, seed(up)


class Watched:
    """A page with what it did: console errors (a CSP refusal shows there), requests."""

    def __init__(self, browser: "Browser", width: int = 1280, height: int = 720) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.offsite = local_only(self.page)
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", self._console)
        self.page.on("request", lambda r: self.urls.append(r.url))

    def _console(self, message: "ConsoleMessage") -> None:
        # The browser logs each refused request (401, 404, 422) itself; the page expects those.
        refused = message.text.startswith(REFUSED)
        if message.type == "error" and not refused:
            self.errors.append(message.text)

    def sign_in(self, up: Up, key: str) -> "Page":
        page = self.page
        page.goto(up.url + "/")
        page.fill("#key", key)
        page.click("button[type=submit]")
        page.wait_for_selector(".fleet-table tbody tr[data-system-id]")
        return page

    def clean(self, *secrets: str) -> None:
        """No console error, no request off this machine, no key in any URL."""
        assert self.errors == [], self.errors
        assert self.offsite == []
        assert not [u for u in self.urls for s in secrets if s in u]


def rows(page: "Page") -> list[tuple[str, str]]:
    """(verdict, name) of each row of the fleet table, in order."""
    found: list[list[str]] = page.eval_on_selector_all(
        ".fleet-table tbody tr[data-system-id]",
        "rows => rows.map(r => [r.querySelector('.badge').textContent,"
        " r.querySelector('.name').textContent])",
    )
    return [(verdict, name) for verdict, name in found]


def no_probe_ran(page: "Page") -> None:
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0


def test_signing_in_shows_the_fleet_worst_first_with_figures_and_strips(
    browser: "Browser", fleet: tuple[Up, dict[str, int]]
) -> None:
    up, _ = fleet
    watched = Watched(browser)
    page = watched.page
    page.goto(up.url + "/dashboard")
    assert page.url.endswith("/ui/")
    page.fill("#key", "lso_a_not-a-key")
    page.click("button[type=submit]")
    page.wait_for_selector("text=This key is not valid")
    page = watched.sign_in(up, up.admin)

    wait_for(lambda: len(rows(page)) == len(EXPECTED), 10, "every system listed")
    listed = rows(page)
    ranks = ["UNHEALTHY", "DEGRADED", "NO DATA", "OK"]
    assert [v for v, _ in listed] == sorted((v for v, _ in listed), key=ranks.index)
    assert dict((n, v.replace(" ", "_")) for v, n in listed) == EXPECTED
    orders = page.locator("tr", has=page.locator("a", has_text="orders-etl"))
    assert orders.locator(".c4").text_content() not in ("", "—", "0")  # events in the window
    assert orders.locator(".c6").text_content().endswith("ms")  # p95
    assert "ago" in (orders.locator(".c3").text_content() or "")
    # The strips of the rows on screen: drawn from each system's history.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fleet-table .strip')]"
        ".every(s => !s.getAttribute('aria-label').endsWith('not loaded yet'))"
    )
    assert page.locator(".fleet-table .strip .tick.v-ok").count() > 30
    # The probe is a name like any other: its text, no element, no script run.
    assert page.locator(".name a", has_text=PROBE).count() == 1
    no_probe_ran(page)
    assert page.locator("#who").text_content() == "Signed in with an admin key"
    screenshot(page, "dashboard-fleet")

    # Filters: by verdict, by name prefix; both kept in the location, never the key.
    page.select_option("#f-health", "UNHEALTHY")
    wait_for(lambda: {n for _, n in rows(page)} == {"ml/train-model", PROBE}, 10, "the filter")
    assert "health=UNHEALTHY" in page.url
    page.select_option("#f-health", "")
    page.fill("#f-prefix", "billing/")
    wait_for(lambda: [n for _, n in rows(page)] == ["billing/invoices"], 10, "the prefix")
    page.fill("#f-prefix", "")
    wait_for(lambda: len(rows(page)) == len(EXPECTED), 10, "the filter cleared")

    # A refresh keeps the rows (same elements: no flicker) and the scroll position.
    first = page.locator(".fleet-table tbody tr").first.element_handle()
    page.wait_for_timeout(5600)  # one refresh period (5 s) and a bit
    assert page.evaluate("r => r.isConnected", first)
    watched.clean(up.admin)


def test_a_systems_page_draws_its_charts_and_lists_from_data(
    browser: "Browser", fleet: tuple[Up, dict[str, int]]
) -> None:
    up, ids = fleet
    watched = Watched(browser)
    page = watched.sign_in(up, up.admin)
    # The keyboard alone reaches a system and opens it.
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        if focused == "orders-etl":
            break
    assert focused == "orders-etl"
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:text-is('orders-etl')")
    assert page.url.endswith(f"#/systems/{ids['orders-etl']}")
    for chart in ("Events per second", "Error rate (%)", "Latency p50 / p95 / p99",
                  "Run durations"):  # fmt: skip
        page.wait_for_function(
            "label => Number(document.querySelector(`.chart[aria-label='${label}']`)"
            "?.dataset.points) > 0", arg=chart,
        )  # fmt: skip
        assert page.locator(f".chart[aria-label='{chart}'] canvas").count() == 1
    page.wait_for_selector("#rules-h ~ .table-wrap code:text-is('error_rate_degraded')")
    stages = page.eval_on_selector_all("#stages-h ~ .table-wrap tbody tr td:first-child",
                                       "cells => cells.map(c => c.textContent)")  # fmt: skip
    assert stages == ["extract", "load", "transform"]
    page.wait_for_selector("#runs-h ~ .table-wrap tbody tr td code")
    assert page.locator("#runs-h ~ .table-wrap tbody tr").count() >= 10
    assert page.locator(".badge").first.text_content() == "OK"
    page.wait_for_selector("#transitions-h ~ .table-wrap tbody tr .badge")
    screenshot(page, "dashboard-system")
    screenshot(page, "dashboard-system-full", full_page=True)

    # The other ranges draw too.
    page.click("button:text-is('24 h')")
    page.wait_for_selector("button[aria-pressed=true]:text-is('24 h')")
    page.wait_for_function("() => document.querySelectorAll('.range-strip .tick').length === 144")

    # Admin: mute and unmute; the policy, changed.
    page.click("button:text-is('Mute notifications')")
    page.wait_for_selector("text=Notifications muted until")
    assert up.get(f"/systems/{ids['orders-etl']}/mute")["muted_until"] is not None
    page.click("button:text-is('Unmute')")
    page.wait_for_selector("button:text-is('Mute notifications')")
    assert up.get(f"/systems/{ids['orders-etl']}/mute")["muted_until"] is None
    page.click("summary:text-is('Change the policy')")
    page.fill("#policy-json", '{"min_events": 3, "unhealthy_error_rate": 2}')
    page.click("button:text-is('Save the policy')")
    page.wait_for_selector("text=Not saved: unhealthy_error_rate")  # the API's 422, in words
    page.fill("#policy-json", '{"min_events": 3}')
    page.click("button:text-is('Save the policy')")
    page.wait_for_selector("text=Saved at")
    assert up.get(f"/systems/{ids['orders-etl']}/policy")["policy"]["min_events"] == 3
    watched.clean(up.admin)


def test_what_users_wrote_is_shown_as_text_never_as_markup(
    browser: "Browser", fleet: tuple[Up, dict[str, int]]
) -> None:
    up, ids = fleet
    watched = Watched(browser)
    page = watched.sign_in(up, up.admin)
    page.click(f".name a:text-is('{PROBE}')")
    page.wait_for_selector(f"h1:text-is('{PROBE}')")
    page.wait_for_selector(f"#errors-h ~ .table-wrap td.message:text-is('{PROBE}')")
    page.wait_for_selector(f"#stages-h ~ .table-wrap td:text-is('{PROBE}')")
    assert page.locator(".description").text_content() == PROBE
    assert page.locator(f"#errors-h ~ .table-wrap code:text-is('{PROBE}')").count() >= 2
    payload = page.locator("#errors-h ~ .table-wrap pre.payload").first.text_content() or ""
    assert json.loads(payload)["error"] == PROBE
    page.wait_for_timeout(500)  # time for an image's error handler to have run, were there one
    no_probe_ran(page)
    screenshot(page, "dashboard-probe")
    watched.clean(up.admin)


def test_a_read_key_sees_its_systems_only_and_signing_out_forgets_it(
    browser: "Browser", fleet: tuple[Up, dict[str, int]]
) -> None:
    up, ids = fleet
    status, key = up.call("POST", f"/systems/{ids['billing/invoices']}/keys", {"kind": "read"})
    assert status == 201, key
    watched = Watched(browser)
    page = watched.sign_in(up, key["token"])
    wait_for(lambda: rows(page) == [("DEGRADED", "billing/invoices")], 10, "the read key's view")
    assert "read key (1 system)" in (page.locator("#who").text_content() or "")
    assert page.evaluate("sessionStorage.getItem('lso.key')") == key["token"]
    assert page.evaluate("document.cookie") == ""
    page.click(".name a")
    page.wait_for_selector("h1:text-is('billing/invoices')")
    page.wait_for_selector("#policy-h ~ .table-wrap tbody tr")
    assert page.locator("button:text-is('Mute notifications')").count() == 0  # not for reads
    assert page.locator("#policy-json").count() == 0
    page.goto(f"{up.url}/ui/#/systems/{ids['orders-etl']}")  # not its own: as if it did not exist
    page.wait_for_selector("text=does not exist, or this key may not read it")
    page.click("#signout")
    page.wait_for_selector("#key")
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    page.wait_for_selector("#key")  # still signed out
    watched.clean(key["token"], up.admin)


def test_the_fleet_fits_a_phone(browser: "Browser", fleet: tuple[Up, dict[str, int]]) -> None:
    up, _ = fleet
    watched = Watched(browser, 390, 844)
    page = watched.sign_in(up, up.admin)
    page.wait_for_function("() => document.querySelectorAll('.fleet-table .strip .v-ok').length")
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, f"{wide} px wider than the screen"
    screenshot(page, "dashboard-fleet-phone")
    watched.clean(up.admin)


def test_pages_of_a_fleet_of_ten_thousand_come_quickly(
    browser: "Browser", fleet: tuple[Up, dict[str, int]]
) -> None:
    up, _ = fleet
    for start in range(0, 10_000, 1000):
        body = {"systems": [{"name": f"fleet/s{i:05}"} for i in range(start, start + 1000)]}
        assert up.call("POST", "/systems/bulk", body)[0] == 200

    def evaluated() -> bool:  # by the jobs: not read live for the answer
        lines = up.get("/health?prefix=fleet/&health=NO_DATA&limit=10000")["systems"]
        return len(lines) == 10_000 and all(line["since"] is not None for line in lines)

    wait_for(evaluated, 120, "the jobs to evaluate 10,000 new systems", interval_s=2)
    watched = Watched(browser)
    page = watched.sign_in(up, up.admin)
    page.fill("#f-prefix", "fleet/")
    page.wait_for_function(  # the filtered list (the whole fleet's first page says 1–50 too)
        "() => document.querySelector('.summary').textContent"
        ".startsWith('Systems 1–50, worst first, only “fleet/…”')"
    )
    took = []
    for n in range(2, 7):
        started = time.monotonic()
        page.click("button:text-is('Next →')")
        page.wait_for_function(
            "n => document.querySelector('.summary').textContent.startsWith(`Systems ${n}`)",
            arg=(n - 1) * 50 + 1,
        )
        took.append(time.monotonic() - started)
    print(f"next page of 50 (of 10,000): {', '.join(f'{t * 1000:.0f} ms' for t in took)}")
    # A page's own read is ~20 ms (10,000 systems, 50 a page with figures); what the rest is
    # made of here is the browser, the service and its jobs sharing two cores.
    assert sorted(took)[len(took) // 2] < 2, took
    watched.clean(up.admin)
