"""The public health badge against a real store: private until the admin makes it public, then
served without a key as an SVG of the verdict the jobs recorded; 404 alike for a private badge,
an unknown system and a deleted one; the name escaped for XML."""

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient

from shared.model import badge
from shared.model.verdict import Verdict
from shared.settings import Settings
from shared.store import keys, scripts
from tests.support.api import register
from tests.support.store import partition
from tests.support.wait import wait_for
from worker.jobs import context, maintenance

SVG = "{http://www.w3.org/2000/svg}"
ADMIN = "lso_a_test-admin-token-for-the-badges-0123456789"


def record(client: redis.Redis, sid: int, verdict: str) -> None:
    """What the jobs' evaluator records for a system (transition.lua)."""
    call = scripts.transition(partition(client, sid), sid, verdict, "r", 1_700_000_000_000, 100)
    client.register_script(scripts.source(scripts.TRANSITION))(keys=call.keys, args=call.args)


def make_public(api: TestClient, sid: int, public: bool = True) -> None:
    answer = api.put(f"/systems/{sid}/badge", json={"public": public})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"system_id": sid, "public": public,
                             "svg_path": f"/systems/{sid}/badge.svg"}  # fmt: skip


def shown(api: TestClient, sid: int) -> ET.Element:
    answer = api.get(f"/systems/{sid}/badge.svg")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["cache-control"] == "max-age=30"
    assert answer.headers["content-security-policy"] == "default-src 'none'"
    return ET.fromstring(answer.content)


def message_fill(root: ET.Element) -> str | None:
    return [r.get("fill") for r in root.iter(f"{SVG}rect")][2]  # after the clip and the label


def test_a_badge_is_private_until_made_public(api: TestClient) -> None:
    sid = register(api, "orders-etl")
    assert api.get(f"/systems/{sid}/badge").json()["public"] is False
    hidden = api.get(f"/systems/{sid}/badge.svg")
    unknown = api.get("/systems/999999/badge.svg")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content == unknown.content, "private and unknown alike"

    make_public(api, sid)
    assert api.get(f"/systems/{sid}/badge").json()["public"] is True
    root = shown(api, sid)  # never evaluated by the jobs: NO DATA, grey
    assert root.get("aria-label") == "orders-etl: NO DATA"
    assert message_fill(root) == badge.COLOURS[Verdict.NO_DATA]

    make_public(api, sid, False)
    assert api.get(f"/systems/{sid}/badge.svg").status_code == 404


@pytest.mark.parametrize("verdict", list(Verdict))
def test_the_badge_shows_the_recorded_verdict_in_its_colour(
    api: TestClient, client: redis.Redis, verdict: Verdict
) -> None:
    sid = register(api, "nightly")
    make_public(api, sid)
    record(client, sid, verdict.value)

    def current() -> ET.Element | None:  # what a process shows is kept for a second
        root = shown(api, sid)
        return root if message_fill(root) == badge.COLOURS[verdict] else None

    root = wait_for(current, 5, f"the badge to turn {verdict}")
    assert root.get("aria-label") == f"nightly: {badge.WORDS[verdict]}"
    assert int(root.get("width", "")) == badge.render("nightly", verdict).width_px


def test_a_name_with_markup_is_text_in_the_badge(api: TestClient) -> None:
    # The API refuses such names (NAME_PATTERN); one stored otherwise still cannot inject markup.
    name = "<script>alert(1)</script>&amp; co"
    registry = api.app.state.registry  # type: ignore[attr-defined]
    _, system = api.portal.call(registry.register, name, None)  # type: ignore[union-attr]
    make_public(api, system.system_id)
    answer = api.get(f"/systems/{system.system_id}/badge.svg")
    assert b"<script" not in answer.content and b"&amp; co" not in answer.content
    root = ET.fromstring(answer.content)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert root.findtext(f"{SVG}title") == f"{name}: NO DATA"


def test_bad_settings_and_ids_are_4xx(api: TestClient) -> None:
    sid = register(api, "orders-etl")
    for body in ({"public": "yes"}, {"public": 1}, {}, {"public": True, "extra": 1}, []):
        assert api.put(f"/systems/{sid}/badge", json=body).status_code == 422, body
    assert api.put("/systems/999999/badge", json={"public": True}).status_code == 404
    assert api.get("/systems/999999/badge").status_code == 404
    for bad in ("0", "-1", "abc", "1e3", "9" * 40):
        assert api.get(f"/systems/{bad}/badge.svg").status_code in (404, 422), bad


def test_only_the_admin_sets_it_and_anyone_fetches_a_public_one(
    make_api: Callable[..., TestClient],
) -> None:
    api = make_api(auth="on", admin_token=ADMIN)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    created = api.post("/systems", json={"name": "shown"}, headers=admin).json()
    sid, ingest = created["system_id"], created["ingest_key"]["token"]
    read = api.post(f"/systems/{sid}/keys", json={"kind": "read"}, headers=admin).json()["token"]
    public = {"public": True}
    assert api.put(f"/systems/{sid}/badge", json=public).status_code == 401
    for token in (ingest, read):
        as_it = {"Authorization": f"Bearer {token}"}
        assert api.put(f"/systems/{sid}/badge", json=public, headers=as_it).status_code == 403
    as_reader = api.get(f"/systems/{sid}/badge", headers={"Authorization": f"Bearer {read}"})
    assert as_reader.json()["public"] is False
    assert api.get(f"/systems/{sid}/badge.svg").status_code == 404
    assert api.put(f"/systems/{sid}/badge", json=public, headers=admin).status_code == 200
    assert api.get(f"/systems/{sid}/badge.svg").status_code == 200  # no key


def test_a_deleted_systems_badge_is_gone_and_purged(
    api: TestClient, client: redis.Redis, settings: Settings
) -> None:
    sid = register(api, "short-lived")
    make_public(api, sid)
    assert api.get(f"/systems/{sid}/badge.svg").status_code == 200
    p = partition(client, sid)
    assert api.delete(f"/systems/{sid}").status_code == 202
    wait_for(lambda: api.get(f"/systems/{sid}/badge.svg").status_code == 404, 5, "a 404")
    assert client.hexists(keys.public_badges(p), str(sid))  # until the purge job runs
    context.configure(settings)
    try:
        maintenance.purge(p, sid)
    finally:
        context.configure(Settings())
    assert not client.hexists(keys.public_badges(p), str(sid))
