"""Admin view of the dead-letter streams, and replay once the cause is fixed."""

from collections.abc import Callable

import redis
from fastapi.testclient import TestClient

from shared.store import keys
from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from tests.support.store import partition
from tests.support.wait import wait_for
from worker.consumer import DrainStats


def test_dead_letters_are_listed_with_the_reason_and_replayed_exactly_once(
    api: TestClient, clock: Clock, client: redis.Redis, drain: Callable[..., DrainStats]
) -> None:
    sid = register(api)
    p = partition(client, sid)
    client.set(keys.raw_events(p, sid), "in the way")  # every apply of this system fails
    post_events(api, sid, [event(clock.now, status="error"), event(clock.now)])
    client.xadd(keys.stream(p), {"v": "9", "junk": "x"})  # undecodable

    def both_dead_lettered() -> bool:  # the failing one waits to be idle and reclaimed
        drain(claim_idle_ms=100, max_deliveries=1)
        return int(client.xlen(keys.dead_letters(p))) >= 2

    wait_for(both_dead_lettered, 10, "both entries in the dead letters", interval_s=0.05)

    listed = api.get("/admin/dead-letters").json()["dead_letters"]
    assert len(listed) == 2
    by_kind = {d["system_id"]: d for d in listed}
    assert by_kind[sid]["events"] == 2 and "delivered" in by_kind[sid]["error"]
    assert by_kind[None]["error"].startswith("undecodable")

    client.delete(keys.raw_events(p, sid))  # the cause is fixed
    replay = api.post("/admin/dead-letters/replay", json={"ids": [by_kind[sid]["id"]]})
    assert replay.json() == {"replayed": 1}
    drain()
    health = api.get(f"/systems/{sid}/health").json()
    assert (health["total"], health["errors"]) == (2, 1)
    assert [d["system_id"] for d in api.get("/admin/dead-letters").json()["dead_letters"]] == [None]
    assert api.post("/admin/dead-letters/replay", json={"ids": [by_kind[sid]["id"]]}).json() == {
        "replayed": 0
    }
    api.app.state.readiness.forget()  # type: ignore[attr-defined]
    assert api.get("/readyz").json()["backlog_events"] == 0


def test_replay_rejects_malformed_ids(api: TestClient) -> None:
    assert api.post("/admin/dead-letters/replay", json={"ids": ["nope"]}).status_code == 422
    assert api.get("/admin/dead-letters", params={"limit": 0}).status_code == 422


def test_replay_rejects_ids_beyond_64_bits(api: TestClient) -> None:
    too_big = f"{2**64}-0"
    response = api.post("/admin/dead-letters/replay", json={"ids": ["1-0", too_big]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "ids", 1]
