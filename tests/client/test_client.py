"""LSOClient as a pipeline sees it: event() never blocks, a full buffer drops and counts, flush and
close, many threads at once, the flush at exit, and fork()."""

import logging
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable

import pytest

from lso_client import LSOClient
from tests.client.fake_lso import FakeLSO, Request, refusing_events

Make = Callable[..., LSOClient]


def test_url_and_key_come_from_the_environment_when_not_given(
    fake: FakeLSO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSO_URL", fake.url + "/")
    monkeypatch.setenv("LSO_KEY", "key-from-env")
    with LSOClient() as client:
        assert (client.config.url, client.config.key) == (fake.url, "key-from-env")
        client.event(7, "load")
        assert client.flush(5)
    assert fake.posts()[0].headers["authorization"] == "Bearer key-from-env"
    with LSOClient("http://elsewhere:1", "given") as other:
        assert (other.config.url, other.config.key) == ("http://elsewhere:1", "given")


def test_a_full_buffer_drops_new_events_counts_them_and_warns_once_per_interval(
    fake: FakeLSO, make_client: Make, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()

    def held(request: Request) -> None:
        gate.wait(30)  # LSO does not answer: nothing the client took is settled

    fake.hook = held
    client = make_client(max_buffered_events=100, batch_events=10, warn_interval_s=3600)
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, "lso_client"):
            queued = [client.event(7, "load", latency_ms=i) for i in range(1000)]
        assert time.monotonic() - started < 2, "event() never waits for LSO"
        assert queued.count(True) == 100 and client.dropped == 900
        assert client.pending == 100, "queued plus in flight: never more than the bound"
        drops = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert len(drops) == 1, "one warning per interval, not one per event"
        assert "max_buffered_events=100" in drops[0].getMessage()
    finally:
        gate.set()
    assert client.flush(10)
    assert [e["latency_ms"] for e in fake.counted] == list(range(100)), "the first 100 are kept"
    assert (client.sent, client.dropped, client.pending) == (100, 900, 0)


def test_memory_stays_bounded_while_lso_is_away(fake: FakeLSO, make_client: Make) -> None:
    gate = threading.Event()
    fake.hook = lambda request: (gate.wait(30), None)[1]
    client = make_client(max_buffered_events=1000, warn_interval_s=3600)
    try:
        for _ in range(10_000):  # full, and the sender's first attempt has loaded its modules
            client.event(7, "load", payload={"rows": 12345})
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(20_000):
            client.event(7, "load", payload={"rows": 12345})
        grown = tracemalloc.take_snapshot().compare_to(before, "filename")
        tracemalloc.stop()
        assert client.dropped == 29_000
        # What the SDK's own code still holds (other threads of the test process allocate too).
        kept = sum(d.size_diff for d in grown if "lso_client" in d.traceback[0].filename)
        assert kept < 20_000, "dropped events leave nothing behind"
    finally:
        gate.set()


def test_events_from_many_threads_are_each_sent_once(fake: FakeLSO, make_client: Make) -> None:
    client = make_client(batch_events=50)

    def report(thread: int) -> None:
        for i in range(500):
            client.event(7, "load", payload={"thread": thread, "i": i})

    threads = [threading.Thread(target=report, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert client.flush(10)
    seen = [(e["payload"]["thread"], e["payload"]["i"]) for e in fake.counted]
    assert sorted(seen) == [(t, i) for t in range(8) for i in range(500)]
    assert len({e["event_id"] for e in fake.counted}) == 4000
    assert client.sent == 4000


def test_flush_says_false_when_lso_does_not_take_the_events_in_time(
    fake: FakeLSO, make_client: Make
) -> None:
    fake.hook = refusing_events(503, retry_after_s=1)
    client = make_client()
    client.event(7, "load")
    assert client.flush(0.3) is False
    assert client.pending == 1, "still queued: the sender keeps trying"
    fake.hook = None
    assert client.flush(5) and client.sent == 1


def test_the_events_are_flushed_at_interpreter_exit(fake: FakeLSO) -> None:
    script = (
        "from lso_client import LSOClient\n"
        f"client = LSOClient({fake.url!r}, 'k', flush_interval_s=3600)\n"
        "for i in range(3):\n"
        "    client.event(7, 'load', latency_ms=i)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert [e["latency_ms"] for e in fake.counted] == [0, 1, 2]


def test_a_forked_child_reports_with_its_own_sender_and_not_its_parents_events(
    fake: FakeLSO, make_client: Make
) -> None:
    client = make_client(flush_interval_s=3600)
    client.event(7, "parent", payload={"n": 1})  # the parent's sender is running, and waits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, on 3.12+
        pid = os.fork()
    if pid == 0:  # the child: report, flush, and leave without running pytest's exit
        code = 1
        try:
            ok = client.event(7, "child", payload={"pid": os.getpid()}) and client.flush(10)
            code = 0 if ok and (client.sent, client.dropped) == (1, 0) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [e["event_type"] for e in fake.counted] == ["child"]
    assert fake.counted[0]["payload"]["pid"] == pid
    client.event(7, "parent", payload={"n": 2})
    assert client.flush(5)
    types = sorted(e["event_type"] for e in fake.counted)
    assert types == ["child", "parent", "parent"], "the parent's queued events went once, by it"
    assert client.sent == 2


def test_a_client_that_never_reported_starts_no_thread(fake: FakeLSO) -> None:
    before = threading.active_count()
    client = LSOClient(fake.url, "k")
    assert client.flush(1) and client.close(1)
    assert threading.active_count() == before
    assert fake.requests == []
