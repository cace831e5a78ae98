"""GET /health, the fleet overview, against a real store: the jobs' recorded verdicts read at
once with their freshness, systems not evaluated yet read live (a bounded number), worst first,
filtered by verdict and name prefix, and paged with a cursor that misses and repeats nothing."""

from datetime import timedelta
from typing import Any

import redis
from fastapi.testclient import TestClient

from api.schemas.health import Overview
from shared.services.fleet import MAX_LIVE_READS, NOT_EVALUATED, REFRESH_S, STALE_S
from shared.store import scripts
from tests.support.api import register
from tests.support.clock import Clock
from tests.support.store import partition
from tests.support.wait import wait_for

VERDICTS = ["OK", "UNHEALTHY", "DEGRADED", "NO_DATA"]


def record(client: redis.Redis, sid: int, verdict: str, at_ms: int, reason: str = "r") -> None:
    """What the jobs' evaluator records for a system (transition.lua)."""
    call = scripts.transition(partition(client, sid), sid, verdict, reason, at_ms, 100)
    client.register_script(scripts.source(scripts.TRANSITION))(keys=call.keys, args=call.args)


def ms(clock: Clock, seconds_ago: float = 0) -> int:
    return int((clock.now - timedelta(seconds=seconds_ago)).timestamp() * 1000)


def test_recorded_verdicts_are_served_with_their_freshness_and_the_rest_read_live(
    api: TestClient, client: redis.Redis, clock: Clock
) -> None:
    evaluated, fresh = register(api, "evaluated"), register(api, "fresh")
    stale = register(api, "stale")
    record(client, evaluated, "UNHEALTHY", ms(clock, 10), "error rate 50% > 10%")
    record(client, evaluated, "UNHEALTHY", ms(clock, 1), "error rate 60% > 10%")
    record(client, stale, "UNHEALTHY", ms(clock, 3600))  # the jobs stopped an hour ago

    answer = api.get("/health").json()
    Overview.model_validate(answer)  # the documented schema (the route writes JSON directly)
    lines = {line["name"]: line for line in answer["systems"]}

    assert lines["evaluated"]["health"] == "UNHEALTHY"
    assert lines["evaluated"]["reason"] == "error rate 60% > 10%"
    assert lines["evaluated"]["since"].startswith(
        (clock.now - timedelta(seconds=10)).isoformat()[:19]
    )
    assert lines["evaluated"]["evaluated_at"].startswith(
        (clock.now - timedelta(seconds=1)).isoformat()[:19]
    )
    # Not evaluated by the jobs yet: evaluated for this answer.
    assert (lines["fresh"]["health"], lines["fresh"]["since"]) == ("NO_DATA", None)
    assert lines["fresh"]["evaluated_at"].startswith(clock.now.isoformat()[:19])
    assert fresh in {line["system_id"] for line in lines.values()}
    # Evaluated an hour ago (the jobs stopped): served as recorded, its age for all to see.
    assert lines["stale"]["health"] == "UNHEALTHY"
    assert lines["stale"]["evaluated_at"].startswith(
        (clock.now - timedelta(hours=1)).isoformat()[:19]
    )


def test_at_most_so_many_unevaluated_systems_are_read_live_for_one_answer(
    api: TestClient,
) -> None:
    body = {"systems": [{"name": f"new-{i:03}"} for i in range(MAX_LIVE_READS + 5)]}
    assert api.post("/systems/bulk", json=body).status_code == 200
    lines = api.get("/health").json()["systems"]
    read = [line for line in lines if line["evaluated_at"] is not None]
    waiting = [line for line in lines if line["evaluated_at"] is None]
    assert (len(read), len(waiting)) == (MAX_LIVE_READS, 5)
    assert {(line["health"], line["reason"]) for line in waiting} == {("NO_DATA", NOT_EVALUATED)}


def test_filters_and_pages_cover_the_fleet_worst_first_exactly_once(
    api: TestClient, client: redis.Redis, clock: Clock
) -> None:
    ids = {}
    for i in range(23):
        name = f"{'etl' if i % 2 else 'ml'}/job-{i:02}"
        ids[name] = register(api, name)
        record(client, ids[name], VERDICTS[i % 4], ms(clock, 1))
    everything = api.get("/health").json()
    assert everything["next_cursor"] is None
    order = [line["name"] for line in everything["systems"]]
    ranks = ["UNHEALTHY", "DEGRADED", "NO_DATA", "OK"]
    assert [line["health"] for line in everything["systems"]] == sorted(
        (line["health"] for line in everything["systems"]), key=ranks.index
    )

    paged, cursor = [], None
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = api.get("/health", params=params).json()
        paged += [line["name"] for line in page["systems"]]
        assert len(page["systems"]) <= 5
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == order

    unhealthy = api.get("/health", params={"health": "UNHEALTHY"}).json()["systems"]
    assert {line["name"] for line in unhealthy} == {n for i, n in enumerate(ids) if i % 4 == 1}
    etl = api.get("/health", params={"prefix": "etl/", "health": "NO_DATA", "limit": 2}).json()
    assert [line["name"] for line in etl["systems"]] == ["etl/job-03", "etl/job-07"]
    rest = api.get(
        "/health", params={"prefix": "etl/", "health": "NO_DATA", "cursor": etl["next_cursor"]}
    )
    assert [line["name"] for line in rest.json()["systems"]] == [
        "etl/job-11",
        "etl/job-15",
        "etl/job-19",
    ]

    for bad in ({"cursor": "x"}, {"limit": 0}, {"health": "SO-SO"}, {"cursor": "9.1"}):
        assert api.get("/health", params=bad).status_code == 422


def test_the_systems_list_pages_by_id_and_filters_by_name_prefix(api: TestClient) -> None:
    ids = [register(api, f"{'etl' if i % 3 else 'ml'}/s{i}") for i in range(10)]
    paged, cursor = [], None
    while True:
        page = api.get("/systems", params={"limit": 4} | ({"cursor": cursor} if cursor else {}))
        paged += [s["system_id"] for s in page.json()["systems"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert paged == ids == [s["system_id"] for s in api.get("/systems").json()["systems"]]
    ml = api.get("/systems", params={"prefix": "ml/"}).json()["systems"]
    assert [s["name"] for s in ml] == ["ml/s0", "ml/s3", "ml/s6", "ml/s9"]
    assert api.get("/systems", params={"cursor": "-1"}).status_code == 422


def test_the_recorded_verdicts_are_reread_once_older_than_the_refresh(
    api: TestClient, client: redis.Redis, clock: Clock
) -> None:
    sid = register(api, "later")
    (line,) = api.get("/health").json()["systems"]
    assert (line["health"], line["since"]) == ("NO_DATA", None)  # not evaluated: read live
    record(client, sid, "UNHEALTHY", ms(clock), "error rate 50% > 10%")
    (line,) = api.get("/health").json()["systems"]
    assert line["since"] is None  # the same snapshot, within its REFRESH_S
    clock.now += timedelta(seconds=REFRESH_S)  # past it: rebuilt in the background

    def recorded() -> dict[str, Any] | None:
        (line,) = api.get("/health").json()["systems"]
        return line if line["since"] is not None else None

    line = wait_for(recorded, 10, "the snapshot rebuilt in the background")
    assert (line["health"], line["reason"]) == ("UNHEALTHY", "error rate 50% > 10%")
    record(client, sid, "OK", ms(clock), "fine")
    clock.now += timedelta(seconds=STALE_S)  # past STALE_S: rebuilt for the answer itself
    assert api.get("/health").json()["systems"][0]["reason"] == "fine"
    register(api, "newer")  # registered through this process: a new snapshot at once
    assert {line["name"] for line in api.get("/health").json()["systems"]} == {"later", "newer"}


def test_a_verdict_changed_between_snapshots_moves_the_line_and_the_rest_keep_their_order(
    api: TestClient, client: redis.Redis, clock: Clock
) -> None:
    sids = [register(api, f"etl-{i}") for i in range(4)]
    for sid in sids:
        record(client, sid, "OK", ms(clock), "fine")
    assert [line["system_id"] for line in api.get("/health").json()["systems"]] == sids

    clock.now += timedelta(seconds=STALE_S)
    record(client, sids[2], "UNHEALTHY", ms(clock), "silent")  # a change, re-sorted
    record(client, sids[0], "OK", ms(clock), "fine again")  # re-recorded, same place
    lines = api.get("/health").json()["systems"]
    assert [line["system_id"] for line in lines] == [sids[2], sids[0], sids[1], sids[3]]
    assert lines[1]["reason"] == "fine again"

    clock.now += timedelta(seconds=STALE_S)
    record(client, sids[2], "OK", ms(clock), "recovered")
    lines = api.get("/health").json()["systems"]
    assert [line["system_id"] for line in lines] == sids
    assert [line["reason"] for line in lines] == ["fine again", "fine", "recovered", "fine"]

    clock.now += timedelta(seconds=STALE_S)  # nothing changed: the same answer
    assert api.get("/health").json()["systems"] == lines
