"""System names: looked up once (GET /systems/by-name/{name}), registered when unknown and the key
may, and given up, with their events counted as unresolved, when LSO refuses."""

import logging
from collections.abc import Callable

import pytest

from lso_client import LSOClient
from tests.client.fake_lso import FakeLSO, Request

Make = Callable[..., LSOClient]


def lookups(fake: FakeLSO) -> list[Request]:
    return [r for r in fake.requests if "/by-name/" in r.path or r.path == "/systems"]


def test_a_name_is_looked_up_once_and_its_id_used(fake: FakeLSO, make_client: Make) -> None:
    fake.names = {"team/orders:nightly": 7}
    client = make_client()
    client.event("team/orders:nightly", "load")
    assert client.flush(5)
    client.event("team/orders:nightly", "load")
    assert client.flush(5)
    assert [r.path for r in lookups(fake)] == ["/systems/by-name/team%2Forders%3Anightly"]
    assert [p.path for p in fake.posts()] == ["/systems/7/events"] * 2
    assert client.sent == 2


def test_an_unknown_name_is_registered(fake: FakeLSO, make_client: Make) -> None:
    client = make_client()
    client.event("orders-etl", "load")
    assert client.flush(5)
    assert [(r.method, r.path) for r in lookups(fake)] == [
        ("GET", "/systems/by-name/orders-etl"), ("POST", "/systems"),
    ]  # fmt: skip
    assert lookups(fake)[1].json == {"name": "orders-etl"}
    assert [p.path for p in fake.posts()] == [f"/systems/{fake.names['orders-etl']}/events"]


def test_a_name_the_key_may_not_register_is_given_up_with_one_warning(
    fake: FakeLSO, make_client: Make, caplog: pytest.LogCaptureFixture
) -> None:
    fake.may_create = False
    fake.names = {"known": 3}
    client = make_client()
    with caplog.at_level(logging.WARNING, "lso_client"):
        for _ in range(3):
            client.event("not-mine", "load")
        client.event("known", "load")
        assert client.flush(5)
        client.event("not-mine", "load")
        assert client.flush(5)
    assert (client.unresolved, client.sent) == (4, 1)
    assert len(lookups(fake)) == 3, "by-name and the refused registration once, then known"
    refusals = [r for r in caplog.records if "not-mine" in r.getMessage()]
    assert len(refusals) == 1 and "403" in refusals[0].getMessage()


def test_without_create_systems_an_unknown_name_is_not_registered(
    fake: FakeLSO, make_client: Make
) -> None:
    client = make_client(create_systems=False)
    client.event("orders-etl", "load")
    assert client.flush(5)
    assert client.unresolved == 1
    assert [r.method for r in lookups(fake)] == ["GET"]


def test_a_busy_lookup_is_retried(fake: FakeLSO, make_client: Make, sleeps: list[float]) -> None:
    fake.names = {"orders-etl": 7}
    busy = [True]

    def once_busy(request: Request) -> tuple[int, dict[str, str], object] | None:
        if "/by-name/" in request.path and busy:
            busy.pop()
            return 503, {"Retry-After": "1"}, {"detail": "busy"}
        return None

    fake.hook = once_busy
    client = make_client()
    client.event("orders-etl", "load")
    assert client.flush(5)
    assert client.sent == 1 and 1 <= sleeps[0] <= 1.1


def test_an_integer_is_an_id_and_nothing_is_looked_up(fake: FakeLSO, make_client: Make) -> None:
    client = make_client()
    client.event(12, "load")
    assert client.flush(5)
    assert lookups(fake) == [] and fake.posts()[0].path == "/systems/12/events"
