"""Batches as the sender sends them: by size or interval, gzipped when large, one Idempotency-Key
per batch kept across retries, retries with backoff and Retry-After, refusals not retried."""

import gzip
import logging
import threading
import time
from collections.abc import Callable

import pytest

from lso_client import LSOClient
from lso_client.sender import chunks
from tests.client.fake_lso import FakeLSO, Request, refusing_events
from tests.support.wait import wait_for

Make = Callable[..., LSOClient]


def test_a_full_batch_goes_at_once_and_the_rest_at_the_flush(
    fake: FakeLSO, make_client: Make
) -> None:
    client = make_client(batch_events=10, flush_interval_s=60)
    for i in range(25):
        client.event(7, "load", latency_ms=i)
    wait_for(lambda: len(fake.posts()) == 2, 5, "two full batches")
    assert [len(p.events) for p in fake.posts()] == [10, 10]
    assert client.flush(5)
    assert [len(p.events) for p in fake.posts()] == [10, 10, 5]
    assert [e["latency_ms"] for e in fake.counted] == list(range(25)), "in order, each once"
    assert all(p.path == "/systems/7/events" for p in fake.posts())
    assert fake.posts()[0].headers["authorization"] == "Bearer test-key"
    assert client.sent == 25


def test_a_partial_batch_goes_after_the_flush_interval(fake: FakeLSO, make_client: Make) -> None:
    client = make_client(flush_interval_s=0.2)
    client.event(7, "load")
    wait_for(lambda: fake.posts(), 5, "the interval's batch")
    assert len(fake.counted) == 1


def test_events_of_several_systems_go_in_batches_of_their_own(
    fake: FakeLSO, make_client: Make
) -> None:
    client = make_client()
    for system in (1, 2, 1, 2, 3):
        client.event(system, "load")
    assert client.flush(5)
    assert sorted((p.path, len(p.events)) for p in fake.posts()) == [
        ("/systems/1/events", 2), ("/systems/2/events", 2), ("/systems/3/events", 1),
    ]  # fmt: skip


def test_bodies_above_1_kb_are_gzipped(fake: FakeLSO, make_client: Make) -> None:
    client = make_client()
    client.event(7, "small")
    assert client.flush(5)
    for _ in range(20):
        client.event(7, "large", payload={"rows": "x" * 100})
    assert client.flush(5)
    small, large = fake.posts()
    assert "content-encoding" not in small.headers and len(small.raw) < 1024
    assert large.headers["content-encoding"] == "gzip"
    assert len(large.body) > 1024 and gzip.decompress(large.raw) == large.body
    assert len(large.raw) < len(large.body)


def test_a_batch_stays_within_max_batch_bytes(fake: FakeLSO, make_client: Make) -> None:
    client = make_client(max_batch_bytes=2000)
    for i in range(30):
        client.event(7, "load", payload={"i": i, "pad": "p" * 200})
    assert client.flush(5)
    assert len(fake.posts()) > 3
    assert all(len(p.body) <= 2000 for p in fake.posts())
    assert [e["payload"]["i"] for e in fake.counted] == list(range(30))


def test_chunks_keep_order_and_a_lone_large_event_goes_alone() -> None:
    events = [b"a" * 10, b"b" * 10, b"c" * 50, b"d" * 5]
    assert list(chunks(events, 40)) == [[b"a" * 10, b"b" * 10], [b"c" * 50], [b"d" * 5]]


def test_503_and_429_are_retried_after_retry_after_with_the_same_idempotency_key(
    fake: FakeLSO, make_client: Make, sleeps: list[float]
) -> None:
    fake.answers = [
        (503, {"Retry-After": "2"}, {"detail": "store unavailable"}),
        (429, {"Retry-After": "1"}, {"detail": "over the rate limit"}),
    ]
    client = make_client()
    for i in range(5):
        client.event(7, "load", latency_ms=i)
    assert client.flush(5)
    posts = fake.posts()
    assert len(posts) == 3
    assert len({p.headers["idempotency-key"] for p in posts}) == 1
    assert len({p.raw for p in posts}) == 1, "the same batch, byte for byte"
    assert 2 <= sleeps[0] <= 2.2 and 1 <= sleeps[1] <= 1.1, sleeps
    assert client.sent == 5 and len(fake.counted) == 5


def test_5xx_and_network_errors_are_retried_with_growing_jittered_backoff(
    fake: FakeLSO, make_client: Make, sleeps: list[float]
) -> None:
    # A connection closed without an answer (status 0) right after a kept-alive one may just be
    # a server closing idle connections: the client resends at once on a new one, then backs off.
    drop = (0, {}, None)
    fake.answers = [(500, {}, {}), drop, drop, (502, {}, {}), drop, drop, (504, {}, {})]
    client = make_client(backoff_initial_s=0.1, backoff_max_s=0.5)
    client.event(7, "load")
    assert client.flush(5)
    assert len({p.headers["idempotency-key"] for p in fake.posts()}) == 1
    assert len(fake.posts()) == 8
    ceilings = [0.1, 0.2, 0.4, 0.5, 0.5]
    assert len(sleeps) == 5
    for delay_s, ceiling_s in zip(sleeps, ceilings, strict=True):
        assert ceiling_s / 2 <= delay_s <= ceiling_s, sleeps
    assert client.sent == 1 and len(fake.counted) == 1


def test_a_batch_whose_answer_was_lost_is_sent_again_and_counted_once(
    fake: FakeLSO, make_client: Make
) -> None:
    """The server takes the batch, but answers after the client's timeout."""
    first = threading.Event()

    def slow_first_answer(request: Request) -> None:
        if request.path.endswith("/events") and not first.is_set():
            first.set()
            fake.counted.extend(request.events)  # taken, like LSO's append before its answer
            fake.keys_seen.add(request.headers["idempotency-key"])
            time.sleep(0.6)
        return None

    fake.hook = slow_first_answer
    client = make_client(timeout_s=0.2)
    for i in range(3):
        client.event(7, "load", latency_ms=i)
    assert client.flush(10)
    assert len(fake.posts()) >= 2
    assert len({p.headers["idempotency-key"] for p in fake.posts()}) == 1
    assert len(fake.counted) == 3, "the resend carried the same key: counted once"


def test_a_422_is_not_retried_and_its_events_count_as_rejected(
    fake: FakeLSO, make_client: Make, caplog: pytest.LogCaptureFixture
) -> None:
    detail = {"detail": [{"loc": ["body", "events", 0, "ts"], "msg": "too old"}]}
    fake.answers = [(422, {}, detail)]
    client = make_client()
    for _ in range(4):
        client.event(7, "load")
    with caplog.at_level(logging.WARNING, "lso_client"):
        assert client.flush(5)
    assert (client.rejected, client.sent, len(fake.posts())) == (4, 0, 1)
    assert "422" in caplog.text and "too old" in caplog.text
    client.event(7, "load")
    assert client.flush(5)
    assert client.sent == 1, "the next batch goes as usual"


def test_401_403_and_an_unknown_system_are_refusals_too(fake: FakeLSO, make_client: Make) -> None:
    fake.answers = [(401, {}, {}), (403, {}, {}), (404, {}, {})]
    client = make_client()
    for system in (1, 2, 3):
        client.event(system, "load")
    assert client.flush(5)
    assert (client.rejected, len(fake.posts())) == (3, 3)


def test_a_413_splits_the_batch_until_it_fits(fake: FakeLSO, make_client: Make) -> None:
    def small_bodies_only(request: Request) -> tuple[int, dict[str, str], object] | None:
        if request.path.endswith("/events") and len(request.events) > 3:
            return 413, {}, {"detail": "body too large"}
        return None

    fake.hook = small_bodies_only
    client = make_client()
    for i in range(10):
        client.event(7, "load", latency_ms=i)
    assert client.flush(5)
    assert sorted(e["latency_ms"] for e in fake.counted) == list(range(10))
    assert client.sent == 10 and client.rejected == 0
    keys = [p.headers["idempotency-key"] for p in fake.posts()]
    assert len(set(keys)) == len(keys), "each part is a batch of its own"


def test_close_gives_up_after_its_timeout_and_counts_what_was_left(
    fake: FakeLSO, make_client: Make
) -> None:
    fake.hook = refusing_events(503, retry_after_s=1)
    client = make_client(sleep=None)  # real, interruptible waits
    for _ in range(5):
        client.event(7, "load")
    started = time.monotonic()
    assert client.close(timeout_s=0.5) is False
    assert time.monotonic() - started < 3
    assert (client.sent, client.dropped, client.pending) == (0, 5, 0)
    assert client.event(7, "after the close") is False and client.dropped == 6
