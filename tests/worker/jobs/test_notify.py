"""Notifications end to end against a real server and a local receiver: an outage is told once
and its recovery once per channel, signed; failing receivers are retried, then given up on,
without touching ingest; a muted system sends nothing."""

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient

from shared.store import keys
from tests.support.clock import Clock
from tests.support.jobs import MakeSystem, RunJobs, Send
from tests.support.receiver import Receiver
from tests.support.store import partition
from worker.jobs import notify


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    signed = f"{headers['X-LSO-Timestamp']}.".encode() + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-LSO-Signature"])


def newest_status(api: TestClient, system_id: int) -> str:
    return str(api.get(f"/systems/{system_id}/notifications").json()["notifications"][0]["status"])


def test_an_outage_and_its_recovery_are_each_told_once_per_channel_signed(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
    clock: Clock,
) -> None:
    kinds = ("webhook", "slack", "alertmanager")
    sid, secrets = make_system(*kinds)

    send(sid, 20, "error")
    assert apply_and_evaluate()["transitions"] == 1
    run_jobs()
    clock.now += timedelta(seconds=1)  # the next pass, a second later
    send(sid, 2000, "ok")
    assert apply_and_evaluate()["transitions"] == 1
    run_jobs()
    apply_and_evaluate(sweep=True)  # nothing changed: nothing more is sent
    run_jobs()

    for kind in kinds:
        got = receiver.at(f"/{kind}")
        assert len(got) == 2, kind
        assert all(signature_ok(secrets[kind], r.headers, r.body) for r in got), kind
    down, up = (r.json() for r in receiver.at("/webhook"))
    assert (down["from"], down["to"], up["from"], up["to"]) == (
        "OK",
        "UNHEALTHY",
        "UNHEALTHY",
        "OK",
    )
    assert down["system"] == {"id": sid, "name": "orders-etl"} and "error rate" in down["reason"]
    assert "*UNHEALTHY*" in receiver.at("/slack")[0].json()["text"]
    firing, resolved = (r.json() for r in receiver.at("/alertmanager"))
    assert [a["labels"]["health"] for a in firing] == ["UNHEALTHY"]
    assert firing[0]["labels"]["severity"] == "critical"
    assert [a["labels"]["health"] for a in resolved] == ["UNHEALTHY"]
    assert resolved[0]["endsAt"] == up["at"].replace("+00:00", "Z")

    log = job_api.get(f"/systems/{sid}/notifications").json()["notifications"]
    assert len(log) == 6 and {d["status"] for d in log} == {"delivered"}
    changes = job_api.get(f"/systems/{sid}/transitions").json()["transitions"]
    assert [(t["from"], t["to"]) for t in changes] == [("UNHEALTHY", "OK"), (None, "UNHEALTHY")]


def test_a_receiver_failing_twice_gets_the_notification_on_the_third_try(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
) -> None:
    sid, _ = make_system("webhook")
    receiver.script = [500, 503]
    send(sid, 20, "error")
    apply_and_evaluate()

    run_jobs(until=lambda: newest_status(job_api, sid) == "delivered")
    (entry,) = job_api.get(f"/systems/{sid}/notifications").json()["notifications"]
    assert (entry["attempts"], entry["last_error"]) == (3, "HTTP 503: ok")
    assert len(receiver.requests) == 3
    assert len({r.headers["X-LSO-Delivery"] for r in receiver.requests}) == 1, "one delivery id"


def test_a_receiver_that_always_fails_ends_failed_and_ingest_goes_on(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
) -> None:
    sid, _ = make_system("webhook")
    healthy, _ = make_system(name="other")
    receiver.script = [500] * 10
    send(sid, 20, "error")
    apply_and_evaluate()

    for _ in range(3):  # ingest of every system goes on while deliveries fail
        send(healthy, 10, "ok")
        run_jobs()
    run_jobs(until=lambda: newest_status(job_api, sid) == "failed")
    (entry,) = job_api.get(f"/systems/{sid}/notifications").json()["notifications"]
    assert (entry["attempts"], entry["last_error"]) == (3, "HTTP 500: ok")
    apply_and_evaluate()
    assert job_api.get(f"/systems/{healthy}/health").json()["total"] == 30


def test_a_muted_system_sends_nothing_and_is_told_after_the_mute_if_still_down(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
    client: redis.Redis,
    clock: Clock,
) -> None:
    sid, _ = make_system("webhook")
    far = (clock.now + timedelta(days=91)).isoformat()
    assert job_api.post(f"/systems/{sid}/mute", params={"until": far}).status_code == 422
    until = (clock.now + timedelta(hours=2)).isoformat()
    muted = job_api.post(f"/systems/{sid}/mute", params={"until": until})
    assert muted.status_code == 200, muted.text
    assert job_api.get(f"/systems/{sid}/mute").json()["muted_until"] is not None
    send(sid, 20, "error")
    assert apply_and_evaluate()["transitions"] == 1
    apply_and_evaluate(sweep=True)
    run_jobs()
    assert receiver.requests == []
    assert len(job_api.get(f"/systems/{sid}/transitions").json()["transitions"]) == 1

    assert job_api.delete(f"/systems/{sid}/mute").status_code == 204
    apply_and_evaluate(sweep=True)  # the sweep sees what was not told
    run_jobs()
    assert [r.json()["to"] for r in receiver.requests] == ["UNHEALTHY"]
    assert client.exists(keys.mute(partition(client, sid), sid)) == 0


def test_deliveries_of_a_deleted_channel_fail_with_the_reason(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
) -> None:
    sid, _ = make_system("webhook")
    send(sid, 20, "error")
    apply_and_evaluate()
    (channel,) = job_api.get(f"/systems/{sid}/channels").json()["channels"]
    assert "secret" not in channel
    assert job_api.delete(f"/systems/{sid}/channels/{channel['channel_id']}").status_code == 204
    run_jobs()
    (entry,) = job_api.get(f"/systems/{sid}/notifications").json()["notifications"]
    assert (entry["status"], entry["last_error"]) == ("failed", "the channel was deleted")
    assert receiver.requests == []


def test_a_delivery_whose_job_was_never_enqueued_is_sent_by_the_sweep(
    make_system: MakeSystem,
    send: Send,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
    client: redis.Redis,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sid, _ = make_system("webhook")
    send(sid, 20, "error")
    with monkeypatch.context() as crash:  # as if the process died right after notify.lua
        crash.setattr(notify, "enqueue", lambda *args: None)
        apply_and_evaluate()
    run_jobs()
    assert receiver.requests == []
    p = partition(client, sid)
    assert notify.reconcile(client, p, clock.now_ms) == 0, "not before a minute"
    later_ms = clock.now_ms + notify.RECONCILE_AFTER_MS + 1000
    assert notify.reconcile(client, p, later_ms) == 1
    run_jobs()
    assert [r.json()["to"] for r in receiver.requests] == ["UNHEALTHY"]
    assert notify.reconcile(client, p, later_ms) == 0, "delivered: nothing left to reconcile"
