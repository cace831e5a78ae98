"""Grouped notifications end to end against a real server, a local receiver and the test's
clock: transitions reaching a channel with `group_window_s` go out as one delivery per window,
in each body format, counted once; members' own logs name it; a crash at any step sends it
once."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from shared.store import keys, scripts
from tests.support.api import register
from tests.support.clock import Clock
from tests.support.jobs import RunJobs, Send
from tests.support.receiver import Receiver
from tests.support.store import partition
from tests.worker.jobs.conftest import WATCHED_POLICY
from tests.worker.jobs.test_notify import signature_ok
from worker.jobs import groups, notify

KINDS = ("webhook", "slack", "alertmanager")
Evaluate = Callable[..., dict[str, int]]


def grouped_channel(api: TestClient, url: str, window_s: int, kind: str = "webhook") -> Any:
    body = {"kind": kind, "url": url, "group_window_s": window_s}
    created = api.post("/channels", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["group_window_s"] == window_s
    return created.json()


def systems(api: TestClient, n: int) -> list[int]:
    return [register(api, f"etl-{i:02d}", policy=WATCHED_POLICY) for i in range(n)]


def log_of(api: TestClient, system_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/systems/{system_id}/notifications").json()["notifications"])


def test_ten_systems_failing_within_the_window_reach_each_grouped_channel_as_one_delivery(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    client: redis.Redis,
    clock: Clock,
) -> None:
    secrets = {k: grouped_channel(job_api, f"{receiver.url}/{k}", 30, k)["secret"] for k in KINDS}
    ids = systems(job_api, 10)
    start = clock.now
    for sid in ids:  # one failing every 2 s: all within 18 s of the first
        send(sid, 20, "error")
        apply_and_evaluate()
        run_jobs()
        clock.now += timedelta(seconds=2)
    assert receiver.requests == [], "nothing before the window ends"
    assert {d["status"] for sid in ids for d in log_of(job_api, sid)} == {"grouped"}
    assert groups.flush() == {"closed": 0}
    assert "lso_groups_open 3.0" in job_api.get("/metrics").text

    clock.now = start + timedelta(seconds=30)
    assert groups.flush() == {"closed": 3}
    assert groups.flush() == {"closed": 0}, "a closed group closes once"
    run_jobs()

    for kind in KINDS:
        (got,) = receiver.at(f"/{kind}")
        assert signature_ok(secrets[kind], got.headers, got.body), kind
    (hook,) = (r.json() for r in receiver.at("/webhook"))
    assert (hook["type"], hook["group"], hook["systems"]) == ("lso.health.grouped", True, 10)
    listed = hook["transitions"]
    assert [t["system"]["id"] for t in listed] == ids, "oldest first"
    assert {t["to"] for t in listed} == {"UNHEALTHY"}
    assert [t["system"]["name"] for t in listed] == [f"etl-{i:02d}" for i in range(10)]
    assert all("error rate" in t["reason"] and t["delivery_id"] for t in listed)
    slack = receiver.at("/slack")[0].json()
    assert slack["text"].startswith("*10 health changes* of 10 systems (10 UNHEALTHY)")
    assert all(f"*etl-{i:02d}*" in slack["text"] for i in range(10))
    alerts = receiver.at("/alertmanager")[0].json()
    firing = [a for a in alerts if a["labels"]["health"] == "UNHEALTHY"]
    assert sorted(a["labels"]["system_id"] for a in firing) == sorted(str(s) for s in ids)

    group_id = hook["delivery_id"]
    assert receiver.at("/webhook")[0].headers["X-LSO-Delivery"] == group_id
    for sid in ids:  # each member's own log says it went out, and in which group
        entries = log_of(job_api, sid)
        assert len(entries) == 3 and {d["status"] for d in entries} == {"delivered"}
        assert group_id in {d["group_id"] for d in entries}
    shown = job_api.get(f"/groups/{group_id}").json()
    assert (shown["status"], shown["attempts"], len(shown["members"])) == ("delivered", 1, 10)
    assert [m["system_id"] for m in shown["members"]] == ids
    assert len(job_api.get("/groups").json()["groups"]) == 3
    channel_id = hook["channel_id"]
    (only,) = job_api.get("/groups", params={"channel_id": channel_id}).json()["groups"]
    assert only["delivery_id"] == group_id
    counted = client.hgetall(keys.METRICS_DELIVERIES)
    assert counted == {b"queued": b"3", b"delivered": b"3"}, "a grouped delivery counts once"
    scraped = job_api.get("/metrics").text
    assert 'lso_deliveries_total{status="delivered"} 3.0' in scraped
    assert "lso_groups_open 0.0" in scraped and "lso_group_deliveries_pending 0.0" in scraped


def test_a_transition_after_the_window_starts_a_second_group_and_ungrouped_is_unchanged(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    grouped_channel(job_api, f"{receiver.url}/grouped", 30)
    first, second = systems(job_api, 2)
    single = {"kind": "webhook", "url": f"{receiver.url}/single"}
    assert job_api.post(f"/systems/{first}/channels", json=single).status_code == 201

    send(first, 20, "error")
    apply_and_evaluate()
    run_jobs()
    (told,) = [r.json() for r in receiver.at("/single")]
    assert told["type"] == "lso.health.changed" and "group" not in told, "sent at once, as ever"
    assert told["system"]["id"] == first
    open_groups = job_api.get("/groups").json()["groups"]
    assert [(g["status"], len(g["members"])) for g in open_groups] == [("open", 1)]
    assert job_api.get(f"/groups/{open_groups[0]['delivery_id']}").json()["status"] == "open"

    clock.now += timedelta(seconds=31)
    groups.flush()
    run_jobs()
    send(second, 20, "error")  # after the first group went out
    apply_and_evaluate()
    clock.now += timedelta(seconds=31)
    groups.flush()
    run_jobs()

    got = [r.json() for r in receiver.at("/grouped")]
    assert [[t["system"]["id"] for t in g["transitions"]] for g in got] == [[first], [second]]
    assert got[0]["delivery_id"] != got[1]["delivery_id"]
    assert len(receiver.at("/single")) == 1


def test_a_system_told_twice_within_a_group_is_listed_twice_and_alertmanager_gets_its_net(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    for kind in ("webhook", "alertmanager"):
        grouped_channel(job_api, f"{receiver.url}/{kind}", 60, kind)
    down_up, down = systems(job_api, 2)
    send(down_up, 20, "error")
    send(down, 20, "error")
    apply_and_evaluate()
    clock.now += timedelta(seconds=1)
    send(down_up, 2000, "ok")
    assert apply_and_evaluate()["transitions"] == 1
    clock.now += timedelta(seconds=60)
    groups.flush()
    run_jobs()

    (hook,) = (r.json() for r in receiver.at("/webhook"))
    assert [(t["system"]["id"], t["to"]) for t in hook["transitions"]] == [
        (down_up, "UNHEALTHY"), (down, "UNHEALTHY"), (down_up, "OK"),
    ]  # fmt: skip
    (alerts,) = (r.json() for r in receiver.at("/alertmanager"))
    assert [(a["labels"]["system_id"], a["labels"]["health"]) for a in alerts] == [
        (str(down), "UNHEALTHY")
    ], "down_up went OK -> OK within the group: nothing to fire or resolve"
    assert {d["status"] for d in log_of(job_api, down_up)} == {"delivered"}


def test_a_group_whose_receiver_fails_is_retried_then_failed_like_a_single_delivery(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    client: redis.Redis,
    clock: Clock,
) -> None:
    grouped_channel(job_api, f"{receiver.url}/grouped", 5)
    ids = systems(job_api, 2)
    receiver.script = [500] * 10
    for sid in ids:
        send(sid, 20, "error")
    apply_and_evaluate()
    clock.now += timedelta(seconds=5)
    groups.flush()

    def failed() -> bool:
        return {d["status"] for sid in ids for d in log_of(job_api, sid)} == {"failed"}

    run_jobs(until=failed)
    assert len(receiver.requests) == 3 and len({r.headers["X-LSO-Delivery"]
                                                for r in receiver.requests}) == 1  # fmt: skip
    for sid in ids:
        (entry,) = log_of(job_api, sid)
        assert (entry["attempts"], entry["last_error"]) == (3, "HTTP 500: ok")
    assert client.hgetall(keys.METRICS_DELIVERIES) == {
        b"queued": b"1",
        b"retrying": b"2",
        b"failed": b"1",
    }
    assert client.zcard(keys.GROUPS_UNDELIVERED) == 0 and client.hlen(keys.GROUP_JOINED) == 0


def test_a_group_of_a_deleted_channel_fails_with_the_reason(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    channel = grouped_channel(job_api, f"{receiver.url}/grouped", 5)
    (sid,) = systems(job_api, 1)
    send(sid, 20, "error")
    apply_and_evaluate()
    assert job_api.delete(f"/channels/{channel['channel_id']}").status_code == 204
    clock.now += timedelta(seconds=5)
    groups.flush()
    run_jobs()
    (entry,) = log_of(job_api, sid)
    assert (entry["status"], entry["last_error"]) == ("failed", "the channel was deleted")
    assert receiver.requests == []


def test_a_system_deleted_while_its_group_is_open_is_left_out_of_it(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
) -> None:
    grouped_channel(job_api, f"{receiver.url}/grouped", 5)
    kept, deleted = systems(job_api, 2)
    send(kept, 20, "error")
    send(deleted, 20, "error")
    apply_and_evaluate()
    assert job_api.delete(f"/systems/{deleted}").status_code == 202
    run_jobs()  # the purge
    clock.now += timedelta(seconds=5)
    groups.flush()
    run_jobs()
    (got,) = [r.json() for r in receiver.at("/grouped")]
    assert [t["system"]["id"] for t in got["transitions"]] == [kept]
    assert got["systems"] == 1


def test_a_full_group_goes_out_at_once_and_the_next_transition_opens_another(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(groups, "MAX_MEMBERS", 3)
    grouped_channel(job_api, f"{receiver.url}/grouped", 60)
    ids = systems(job_api, 5)
    for sid in ids:
        send(sid, 20, "error")
    apply_and_evaluate()
    run_jobs()
    (full,) = [r.json() for r in receiver.at("/grouped")]
    assert len(full["transitions"]) == 3
    clock.now += timedelta(seconds=60)
    groups.flush()
    run_jobs()
    rest = receiver.at("/grouped")[1].json()["transitions"]
    assert sorted(t["system"]["id"] for t in full["transitions"] + rest) == ids


def test_a_group_whose_enqueue_was_lost_is_sent_once_by_the_sweep(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    client: redis.Redis,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grouped_channel(job_api, f"{receiver.url}/grouped", 5)
    ids = systems(job_api, 3)
    for sid in ids:
        send(sid, 20, "error")
    apply_and_evaluate()
    clock.now += timedelta(seconds=5)
    with monkeypatch.context() as crash:  # as if the process died right after group.lua
        crash.setattr(groups, "_enqueue", lambda group_id: None)
        assert groups.flush() == {"closed": 1}
    assert groups.flush() == {"closed": 0}
    run_jobs()
    assert receiver.requests == []
    assert groups.reconcile(client, clock.now_ms) == 0, "not before a minute"
    clock.now += timedelta(seconds=61)
    assert apply_and_evaluate(sweep=True)["reconciled"] == 1
    run_jobs()
    assert apply_and_evaluate(sweep=True)["reconciled"] == 0
    (got,) = [r.json() for r in receiver.at("/grouped")]
    assert [t["system"]["id"] for t in got["transitions"]] == ids


def test_a_transition_never_routed_to_its_group_or_routed_twice_is_told_once(
    job_api: TestClient,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Evaluate,
    client: redis.Redis,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grouped_channel(job_api, f"{receiver.url}/grouped", 120)
    lost, half, routed = systems(job_api, 3)
    send(lost, 20, "error")
    with monkeypatch.context() as crash:  # died right after notify.lua: never routed
        crash.setattr(groups, "route_to_group", lambda *args: True)
        apply_and_evaluate()
    send(half, 20, "error")
    with monkeypatch.context() as crash:  # died after joining, before the mark
        crash.setattr(groups.scripts, "delivery_mark", _no_mark)
        apply_and_evaluate()
    send(routed, 20, "error")
    apply_and_evaluate()
    assert [d["status"] for d in log_of(job_api, lost)] == ["queued"]
    assert [d["status"] for d in log_of(job_api, half)] == ["queued"]

    clock.now += timedelta(seconds=61)  # the sweep finds both, the group still open
    assert apply_and_evaluate(sweep=True)["reconciled"] == 2
    assert apply_and_evaluate(sweep=True)["reconciled"] == 0
    for sid in (lost, half, routed):
        (entry,) = log_of(job_api, sid)
        assert entry["status"] == "grouped" and entry["group_id"]
    p = partition(client, lost)
    for sid in (lost, half):  # routed again by hand: nothing joins twice
        (entry,) = log_of(job_api, sid)
        every = groups.grouped_channels(notify.channels(client))
        assert groups.route_to_group(client, p, sid, entry["delivery_id"], every)
    clock.now += timedelta(seconds=60)
    groups.flush()
    run_jobs()
    (got,) = [r.json() for r in receiver.at("/grouped")]
    assert sorted(t["system"]["id"] for t in got["transitions"]) == [lost, half, routed]
    assert {d["status"] for s in (lost, half, routed) for d in log_of(job_api, s)} == {"delivered"}


_mark = scripts.delivery_mark


def _no_mark(*args: Any, **kwargs: Any) -> scripts.Call:
    """A delivery_mark call that changes nothing: of an unknown delivery, on keys of no one."""
    call = _mark(*args, **kwargs)
    return scripts.Call([f"{k}:nobody" for k in call.keys], ["", *call.args[1:]])
