"""Channels: created with a secret shown once, listed without it, URLs guarded against SSRF."""

from fastapi.testclient import TestClient

from tests.support.api import register

PUBLIC = "https://93.184.215.14/hook"


def test_a_channel_is_created_with_its_secret_once_and_listed_without_it(api: TestClient) -> None:
    sid = register(api)
    created = api.post(f"/systems/{sid}/channels", json={"kind": "slack", "url": PUBLIC})
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("lso_s_") and body["notify_on"] == ["DEGRADED", "UNHEALTHY"]
    (listed,) = api.get(f"/systems/{sid}/channels").json()["channels"]
    assert "secret" not in listed and listed["channel_id"] == body["channel_id"]
    assert api.get("/channels").json()["channels"] == [], "a system's channel is not global"
    assert api.delete(f"/channels/{body['channel_id']}").status_code == 404
    assert api.delete(f"/systems/{sid}/channels/{body['channel_id']}").status_code == 204


def test_global_channels_have_no_system(api: TestClient) -> None:
    created = api.post("/channels", json={"kind": "alertmanager", "url": PUBLIC, "name": "am"})
    assert created.status_code == 201 and created.json()["system_id"] is None
    assert [c["name"] for c in api.get("/channels").json()["channels"]] == ["am"]


def test_private_urls_are_refused_unless_allowed(make_api: object, api: TestClient) -> None:
    sid = register(api)
    for url in ("http://127.0.0.1:9000/x", "http://169.254.169.254/", "http://10.0.0.1/"):
        refused = api.post(f"/systems/{sid}/channels", json={"kind": "webhook", "url": url})
        assert refused.status_code == 422, url
        assert refused.json()["detail"][0]["loc"] == ["body", "url"]
    allowed = make_api(allow_private_webhooks=True)  # type: ignore[operator]
    ok = allowed.post(
        f"/systems/{sid}/channels", json={"kind": "webhook", "url": "http://127.0.0.1:9/x"}
    )
    assert ok.status_code == 201


def test_invalid_channels_are_422_with_the_field(api: TestClient) -> None:
    sid = register(api)
    for body, field in [
        ({"kind": "email", "url": PUBLIC}, "kind"),
        ({"kind": "webhook", "url": "not a url"}, "url"),
        ({"kind": "webhook", "url": PUBLIC, "notify_on": []}, "notify_on"),
        ({"kind": "webhook", "url": PUBLIC, "notify_on": ["BAD"]}, "notify_on"),
    ]:
        response = api.post(f"/systems/{sid}/channels", json=body)
        assert response.status_code == 422, body
        assert field in response.json()["detail"][0]["loc"]
    assert (
        api.post("/systems/999/channels", json={"kind": "webhook", "url": PUBLIC}).status_code
        == 404
    )


def test_mute_needs_a_zoned_future_time(api: TestClient) -> None:
    sid = register(api)
    for until in ("2020-01-01T00:00:00Z", "2030-01-01T00:00:00", "soon"):
        assert api.post(f"/systems/{sid}/mute", params={"until": until}).status_code == 422, until
    assert api.get(f"/systems/{sid}/mute").json() == {"system_id": sid, "muted_until": None}


def test_a_group_window_is_kept_and_shown_and_absent_means_ungrouped(api: TestClient) -> None:
    sid = register(api)
    grouped = api.post("/channels", json={"kind": "webhook", "url": PUBLIC, "group_window_s": 30})
    assert grouped.status_code == 201 and grouped.json()["group_window_s"] == 30
    own = {"kind": "slack", "url": PUBLIC, "group_window_s": 3600}
    assert api.post(f"/systems/{sid}/channels", json=own).json()["group_window_s"] == 3600
    plain = api.post("/channels", json={"kind": "webhook", "url": PUBLIC})
    assert plain.json()["group_window_s"] is None
    assert [c["group_window_s"] for c in api.get("/channels").json()["channels"]] == [30, None]
    (listed,) = api.get(f"/systems/{sid}/channels").json()["channels"]
    assert listed["group_window_s"] == 3600


def test_invalid_group_windows_are_422_with_the_field(api: TestClient) -> None:
    sid = register(api)
    for window in (0, -5, 3601, 1.5, "30", True, [30]):
        body = {"kind": "webhook", "url": PUBLIC, "group_window_s": window}
        for path in ("/channels", f"/systems/{sid}/channels"):
            refused = api.post(path, json=body)
            assert refused.status_code == 422, (path, window)
            assert refused.json()["detail"][0]["loc"] == ["body", "group_window_s"], window
    assert api.get("/channels").json()["channels"] == []


def test_unknown_groups_are_404_and_none_are_listed_at_first(api: TestClient) -> None:
    assert api.get("/groups/g404").status_code == 404
    assert api.get("/groups").json() == {"groups": []}
    assert api.get("/groups", params={"channel_id": 0}).status_code == 422
