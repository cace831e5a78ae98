"""Changing the number of partitions of a live deployment (`lso partitions N`): old systems stay
where their data is, new ones spread over the new count, and a running API and worker follow."""

from collections.abc import Callable

import redis
from fastapi.testclient import TestClient

from shared.settings import Settings
from shared.store import keys
from tests.support.api import post_events, register
from tests.support.clock import Clock
from tests.support.events import event
from tests.support.processes import run_lso
from tests.support.wait import wait_for
from worker.consumer import Worker


def test_a_live_change_of_partitions_moves_no_data_and_loses_nothing(
    make_api: Callable[..., TestClient], settings: Settings, client: redis.Redis, clock: Clock
) -> None:
    overrides = {"partitions": 2, "heartbeat_ttl_s": 2}
    api = make_api(**overrides)
    worker = Worker(client, settings.model_copy(update=overrides))
    old = [register(api, f"old-{i}") for i in range(3)]
    for sid in old:
        post_events(api, sid, [event(clock.now)] * sid)
    worker.run_once()

    changed = run_lso("partitions", "4", env={"LSO_REDIS_URL": settings.redis_url})
    assert changed.returncode == 0, changed.stderr
    assert "systems from id 4: 4 partition(s)" in changed.stdout

    new = [register(api, f"new-{i}") for i in range(5)]
    for sid in old + new:
        post_events(api, sid, [event(clock.now, status="error")] * sid)
    expected = {sid: sid * 2 if sid in old else sid for sid in old + new}

    def totals() -> dict[int, int]:
        return {sid: api.get(f"/systems/{sid}/health").json()["total"] for sid in old + new}

    def applied() -> bool:
        if totals() == expected:
            return True
        worker.run_once()
        return False

    wait_for(applied, 30, f"the totals {expected}", interval_s=0)

    assert [sid % 2 for sid in old] == [1, 0, 1]
    assert all(client.exists(keys.system_meta(sid % 2, sid)) for sid in old), "old data stays"
    assert all(client.exists(keys.system_meta(sid % 4, sid)) for sid in new)
    assert {sid % 4 for sid in new} == {0, 1, 2, 3}, "new systems use every new partition"
    shown = run_lso("partitions", env={"LSO_REDIS_URL": settings.redis_url}).stdout
    assert "ingest streams: 4; systems registered: 8" in shown
