"""No client can hurt another, measured from outside on a real `lso api` and store: a burst of 500
connections, a flood of probes, slow and endless headers, and spoofed X-Forwarded-For."""

import http.client
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.events import batch
from tests.support.processes import REPO, Spawn
from tests.support.servers import Server, available
from tests.support.stack import ADMIN_TOKEN, Client, Stack

pytestmark = [pytest.mark.process, pytest.mark.slow]


@pytest.fixture
def store() -> Iterator[Server]:
    server = Server(available()["valkey"]).start()
    yield server
    server.stop()


def _stack(spawn: Spawn, store: Server, **env: str) -> Stack:
    return Stack(spawn, store, env={"LSO_REDIS_TIMEOUT_MS": "2000", **env}).start(workers=1)


def _rate(stack: Stack, system_id: int, seconds: float) -> tuple[float, Counter[int]]:
    """Batches/s one ingest client gets accepted (100 events each), and every status it saw."""
    client = Client(stack, system_id, [100] * 100_000)
    started = time.monotonic()
    client.start()
    time.sleep(seconds)
    client.stopping = True
    client.join(30)
    return len(client.acked) / (time.monotonic() - started), client.statuses


def _flood(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.flood", *map(str, args)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _flood_result(flood: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = flood.communicate(timeout=120)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_500_ingest_connections_at_once_are_accepted_or_told_when_to_retry(
    spawn: Spawn, store: Server
) -> None:
    stack = _stack(spawn, store)
    sid = stack.register("crowd")
    body = json.dumps(batch(datetime.now(UTC), 10)).encode()
    start = threading.Barrier(500)
    answers: list[tuple[int, str | None]] = []

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
        start.wait()
        try:
            conn.request("POST", f"/systems/{sid}/events", body,
                         {"content-type": "application/json",
                          "authorization": f"Bearer {ADMIN_TOKEN}"})  # fmt: skip
            response = conn.getresponse()
            response.read()
            answers.append((response.status, response.getheader("retry-after")))
        except OSError:
            answers.append((0, None))
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(500)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = Counter(status for status, _ in answers)
    print(f"\n[500 connections] {dict(statuses)}")
    assert len(answers) == 500
    assert statuses[202] >= 475, statuses
    assert set(statuses) <= {202, 503}, statuses
    assert all(retry for status, retry in answers if status == 503), "503 always says when"
    stack.drained()
    assert stack.health(sid)["total"] == 10 * statuses[202]


def test_a_probe_flood_leaves_another_clients_ingest_at_half_its_rate_at_least(
    spawn: Spawn, store: Server
) -> None:
    stack = _stack(spawn, store)
    probed, busy = stack.register("probed"), stack.register("busy")
    alone, _ = _rate(stack, busy, 3)
    flood = _flood("probe", stack.port, probed, 300, 6)
    time.sleep(1)  # the flood's connections are up
    during, statuses = _rate(stack, busy, 3)
    seen = _flood_result(flood)
    print(f"\n[probe flood] alone={alone:.0f}/s during={during:.0f}/s probes={seen}")
    assert statuses[503] == 0, statuses
    assert during >= 0.5 * alone, (alone, during)


def test_slow_and_endless_headers_cost_little_memory_and_do_not_slow_ingest(
    spawn: Spawn, store: Server
) -> None:
    stack = _stack(spawn, store, LSO_HTTP_HEADER_TIMEOUT_S="2")
    sid = stack.register("steady")
    assert stack.api is not None
    alone, _ = _rate(stack, sid, 3)
    before_kb = _rss_kb(stack.api.pid)
    slow = _flood("slow", stack.port, 200, 20)
    huge = _flood("huge", stack.port, 10, 16)
    during, statuses = _rate(stack, sid, 3)
    peak_kb = _rss_kb(stack.api.pid)
    slow_seen, huge_seen = _flood_result(slow), _flood_result(huge)
    peak_kb = max(peak_kb, _rss_kb(stack.api.pid))
    print(f"\n[slow clients] alone={alone:.0f}/s during={during:.0f}/s "
          f"rss_growth_mb={(peak_kb - before_kb) / 1024:.1f} "
          f"slow={slow_seen} huge={huge_seen}")  # fmt: skip
    assert slow_seen["closed"] == 200 and float(slow_seen["longest_s"]) < 8  # type: ignore[arg-type]
    assert huge_seen["refused"] == 10
    assert (peak_kb - before_kb) / 1024 < 20
    assert during >= 0.5 * alone and statuses[503] == 0, (alone, during, statuses)


def test_a_spoofed_x_forwarded_for_neither_locks_out_good_keys_nor_dodges_the_throttle(
    spawn: Spawn, store: Server
) -> None:
    stack = _stack(spawn, store, LSO_AUTH_FAILURES_PER_MIN="5")
    sid = stack.register("spoofed")
    codes = [
        stack.call("GET", "/health", authorization=f"Bearer wrong-{i}",
                   **{"x-forwarded-for": f"10.0.0.{i}"})[0]
        for i in range(20)
    ]  # fmt: skip
    assert codes[:5] == [401] * 5 and set(codes[6:]) == {429}, codes  # one address: the real one
    spoofed = {"x-forwarded-for": "10.0.0.1"}
    assert stack.call("GET", "/health", **spoofed)[0] == 200  # the admin key (the stack's)
    event = batch(datetime.now(UTC), 1)
    assert stack.call("POST", f"/systems/{sid}/events", event, **spoofed)[0] == 202
