"""The evaluator: one transition per real change whatever runs at once, silent systems and old
events leaving the window caught at their due time, the sweep only for what was not evaluated,
flapping held back, and an old evaluation never undoing a newer one."""

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import redis
from fastapi.testclient import TestClient

from shared.settings import Settings
from shared.store import keys, scripts
from tests.support.api import add_channels, register
from tests.support.clock import Clock
from tests.support.jobs import MakeSystem, RunJobs, Send
from tests.support.receiver import Receiver
from tests.support.store import partition
from worker.consumer import Worker
from worker.jobs import context, evaluate, notify


def evaluate_at_once(n: int) -> list[dict[str, int]]:
    """`n` sweeps started together (threads behind a barrier); their results."""
    results: list[dict[str, int]] = []
    go = threading.Barrier(n)

    def one_evaluator() -> None:
        go.wait()
        results.append(evaluate.evaluate(sweep=True))

    threads = [threading.Thread(target=one_evaluator) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_evaluators_at_once_record_one_transition_and_send_one_notification(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
    clock: Clock,
) -> None:
    sid, _ = make_system("webhook")
    send(sid, 20, "error")
    apply_and_evaluate()  # the first verdict: UNHEALTHY
    clock.now += timedelta(seconds=1)  # each pass a second after the last
    send(sid, 2000, "ok")
    apply_and_evaluate()  # OK, told at once
    clock.now += timedelta(seconds=1)
    send(sid, 2000, "error")
    apply_and_evaluate()

    results = evaluate_at_once(3)
    run_jobs()
    changes = job_api.get(f"/systems/{sid}/transitions").json()["transitions"]
    assert [t["to"] for t in changes] == ["UNHEALTHY", "OK", "UNHEALTHY"]
    assert sum(r["transitions"] for r in results) == 0, "the change was recorded once, before"
    assert [r.json()["to"] for r in receiver.requests] == ["UNHEALTHY", "OK", "UNHEALTHY"]


def test_concurrent_passes_over_a_fresh_change_agree_on_one_transition(
    make_system: MakeSystem,
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    client: redis.Redis,
) -> None:
    sid, _ = make_system("webhook")
    send(sid, 20, "error")
    Worker(client, context.settings(), burst=True).run()
    results = evaluate_at_once(4)
    run_jobs()
    assert sum(r["transitions"] for r in results) == 1
    assert len(job_api.get(f"/systems/{sid}/transitions").json()["transitions"]) == 1
    assert len(receiver.requests) == 1


def test_a_silent_system_is_caught_by_the_pass_at_its_due_time_without_a_sweep(
    send: Send,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    apply_and_evaluate: Callable[..., dict[str, int]],
    clock: Clock,
) -> None:
    policy = {"window_seconds": 60, "expected_interval_seconds": 1}
    sid = register(job_api, "nightly", policy=policy)
    add_channels(job_api, sid, receiver.url, ("webhook",))
    send(sid, 5, "ok")
    apply_and_evaluate()
    assert job_api.get(f"/systems/{sid}/transitions").json()["transitions"][0]["to"] == "OK"
    last_event_at = datetime.fromisoformat(
        job_api.get(f"/systems/{sid}/health").json()["last_event_at"]
    )

    clock.now = last_event_at + timedelta(seconds=1)  # the interval (1 s, no grace), not past it
    assert evaluate.evaluate(sweep=False)["evaluated"] == 0, "not due yet: nobody looks"
    clock.now = last_event_at + timedelta(seconds=1, milliseconds=1)  # due: silent from now
    assert job_api.get(f"/systems/{sid}/health").json()["health"] == "UNHEALTHY"
    assert evaluate.evaluate(sweep=False) | {"deliveries": 0} == {
        "evaluated": 1, "transitions": 1, "deliveries": 0, "reconciled": 0,
    }  # fmt: skip
    assert evaluate.evaluate(sweep=False)["evaluated"] == 0  # silent now: nothing more is due
    run_jobs()
    (told,) = receiver.requests
    assert (told.json()["to"], "silent" in told.json()["reason"]) == ("UNHEALTHY", True)


def test_a_flapping_system_is_told_at_most_once_per_interval_and_only_if_still_changed(
    make_system: MakeSystem,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    client: redis.Redis,
    clock: Clock,
) -> None:
    sid, _ = make_system("webhook")
    p = partition(client, sid)
    change = _changer(client, p, sid)

    interval_ms = 60_000
    settings = job_api.app.state.settings  # type: ignore[attr-defined]
    context.configure(settings.model_copy(update={"notify_min_interval_s": 60}), clock=clock)
    t0 = 1_000_000_000_000
    change("UNHEALTHY", t0)
    assert notify.dispatch(client, p, t0) == 1  # told at once
    change("OK", t0 + 1000)
    assert notify.dispatch(client, p, t0 + 1000) == 0  # too soon: held back
    change("UNHEALTHY", t0 + 2000)
    assert notify.dispatch(client, p, t0 + interval_ms) == 0, "back where it was told: nothing"
    change("OK", t0 + 70_000)
    assert notify.dispatch(client, p, t0 + 70_000) == 1, "past the interval: told"
    run_jobs()
    assert [r.json()["to"] for r in receiver.requests] == ["UNHEALTHY", "OK"]
    assert len(job_api.get(f"/systems/{sid}/transitions").json()["transitions"]) == 4


def test_an_older_evaluation_never_undoes_a_newer_one(client: redis.Redis) -> None:
    transition = client.register_script(scripts.source(scripts.TRANSITION))

    def record(verdict: str, reason: str, at_ms: int) -> Any:
        call = scripts.transition(0, 7, verdict, reason, at_ms, 100)
        return transition(keys=call.keys, args=call.args)

    assert record("UNHEALTHY", "r", 2000) == [1, b""]
    assert record("OK", "stale", 1000) == [0, b""]
    assert record("UNHEALTHY", "r", 3000) == [0, b""]
    assert orjson.loads(client.hget(keys.verdicts(0), "7")) == ["UNHEALTHY", "r", 2000, 3000]
    assert record("OK", "r", 4000) == [1, b"UNHEALTHY"]
    assert client.xlen(keys.transitions(0, 7)) == 2
    # The fleet's copy of the verdict follows the system's own.
    assert orjson.loads(client.hget(keys.verdicts(0), "7")) == ["OK", "r", 4000, 4000]


def test_only_a_change_some_channel_is_told_about_starts_the_flapping_interval(
    make_system: MakeSystem,
    job_api: TestClient,
    receiver: Receiver,
    run_jobs: RunJobs,
    client: redis.Redis,
    clock: Clock,
) -> None:
    """A new system's first evaluations (NO_DATA, then OK) are no channel's business: they must
    not hold back the first real outage (it was told 86 s late); a held one is listed as held."""
    sid, _ = make_system("webhook")  # notify_on: DEGRADED, UNHEALTHY
    p = partition(client, sid)
    change = _changer(client, p, sid)

    settings = job_api.app.state.settings  # type: ignore[attr-defined]
    context.configure(settings.model_copy(update={"notify_min_interval_s": 60}), clock=clock)
    t0 = 1_000_000_000_000
    change("NO_DATA", t0)
    assert notify.dispatch(client, p, t0) == 0  # nobody cares
    change("OK", t0 + 1000)
    assert notify.dispatch(client, p, t0 + 1000) == 0
    change("UNHEALTHY", t0 + 2000)
    assert notify.dispatch(client, p, t0 + 2000) == 1, "the first outage is told at once"
    change("OK", t0 + 3000)
    assert notify.dispatch(client, p, t0 + 3000) == 0  # within 60 s of a told change: held
    listed = job_api.get(f"/systems/{sid}/notifications").json()["notifications"]
    held = listed[0]
    assert (held["status"], held["from"], held["to"]) == ("held", "UNHEALTHY", "OK")
    assert held["held_until"].startswith("2001-09-09T01:47:42")  # t0 + 2 s + 60 s
    assert listed[1]["to"] == "UNHEALTHY" and listed[1]["status"] != "held"
    run_jobs()
    assert [r.json()["to"] for r in receiver.requests] == ["UNHEALTHY"]


def _changer(client: redis.Redis, p: int, sid: int) -> Callable[[str, int], None]:
    """`change(verdict, at_ms)`: record a verdict change of the system, as the evaluator would."""
    transition = client.register_script(scripts.source(scripts.TRANSITION))

    def change(verdict: str, at_ms: int) -> None:
        call = scripts.transition(p, sid, verdict, "test", at_ms, 100)
        assert transition(keys=call.keys, args=call.args)[0] == 1

    return change


def test_errors_leaving_the_window_are_seen_by_the_pass_at_their_due_time_without_a_sweep(
    send: Send,
    job_api: TestClient,
    apply_and_evaluate: Callable[..., dict[str, int]],
    clock: Clock,
) -> None:
    sid = register(job_api, "hourly", policy={"window_seconds": 60})
    # At 30.5 s past a minute the events' second lies in a 1-s slot of the window's cover, so
    # their due time is exact; a second ending a 10-s or 60-s slot is covered by that slot and
    # falls due up to its length early (one extra evaluation, which then finds the exact time).
    clock.now = clock.now.replace(second=30, microsecond=500_000)
    send(sid, 20, "error")
    assert apply_and_evaluate()["transitions"] == 1
    sent_at = clock.now
    assert evaluate.evaluate(sweep=False)["evaluated"] == 0, "nothing new, nothing due"

    clock.now = sent_at + timedelta(seconds=30)
    assert evaluate.evaluate(sweep=False)["evaluated"] == 0, "the errors are still in the window"
    clock.now = sent_at + timedelta(seconds=62)  # their second has left [now - 60 s, now]
    assert job_api.get(f"/systems/{sid}/health").json()["health"] == "NO_DATA"
    assert evaluate.evaluate(sweep=False)["transitions"] == 1
    changes = job_api.get(f"/systems/{sid}/transitions").json()["transitions"]
    assert [t["to"] for t in changes] == ["NO_DATA", "UNHEALTHY"]  # newest first
    assert evaluate.evaluate(sweep=False)["evaluated"] == 0, "an empty window: nothing is due"


def test_the_sweep_evaluates_only_systems_not_evaluated_for_the_reevaluation_period(
    send: Send,
    job_api: TestClient,
    apply_and_evaluate: Callable[..., dict[str, int]],
    job_settings: Settings,
    clock: Clock,
) -> None:
    first = register(job_api, "first", policy={"window_seconds": 60})
    send(first, 5, "ok")
    assert apply_and_evaluate()["evaluated"] == 1
    second = register(job_api, "second", policy={"window_seconds": 60})  # not evaluated yet
    assert second != first
    assert evaluate.evaluate(sweep=True)["evaluated"] == 1, "only the one never evaluated"
    assert evaluate.evaluate(sweep=True)["evaluated"] == 0

    clock.now += timedelta(seconds=job_settings.reevaluate_after_s + 1)
    assert evaluate.evaluate(sweep=True)["evaluated"] == 2, "both are stale now"


def test_a_pass_takes_at_most_its_share_of_due_systems_and_leaves_the_rest_due(
    client: redis.Redis,
) -> None:
    take = client.register_script(scripts.source(scripts.DUE_TAKE))
    client.zadd(keys.due(0), {"1": 100, "2": 200, "3": 300, "4": 5000})

    def taken(now_ms: int, limit: int) -> list[bytes]:
        call = scripts.due_take(0, now_ms, limit)
        return take(keys=call.keys, args=call.args)  # type: ignore[no-any-return]

    assert taken(1000, 2) == [b"1", b"2"]
    assert client.zrange(keys.due(0), 0, -1) == [b"3", b"4"], "the third is still due"
    assert taken(1000, 2) == [b"3"]
    assert taken(1000, 2) == []
    assert client.zrange(keys.due(0), 0, -1) == [b"4"]


def test_one_pass_over_several_systems_records_what_each_ones_health_read_says(
    send: Send,
    job_api: TestClient,
    apply_and_evaluate: Callable[..., dict[str, int]],
) -> None:
    # Several systems in a pass are read in one read_hashes.lua call (one alone, in a pipeline).
    sids = [register(job_api, f"batch-{i}", policy={"window_seconds": 60}) for i in range(4)]
    for sid, (n, status) in zip(sids, [(20, "error"), (30, "ok"), (2, "ok"), (0, "ok")],
                                strict=True):  # fmt: skip
        if n:
            send(sid, n, status)
    assert apply_and_evaluate()["evaluated"] == 4
    lines = {line["system_id"]: line for line in job_api.get("/health").json()["systems"]}
    for sid in sids:
        live = job_api.get(f"/systems/{sid}/health").json()
        assert (lines[sid]["health"], lines[sid]["reason"]) == (live["health"], live["reason"])
        assert lines[sid]["since"] is not None, "recorded by the pass, not read live"
    assert [lines[sid]["health"] for sid in sids] == ["UNHEALTHY", "OK", "OK", "NO_DATA"]
