"""Fixtures of the SDK's unit tests: a fake LSO (fake_lso.py) and clients pointed at it whose
retry waits are recorded instead of slept."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lso_client import LSOClient
from tests.client.fake_lso import FakeLSO, serve


@pytest.fixture
def fake() -> Iterator[FakeLSO]:
    with serve() as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    """The retry waits the clients of `make_client` asked for, in order."""
    return []


@pytest.fixture
def make_client(fake: FakeLSO, sleeps: list[float]) -> Iterator[Callable[..., LSOClient]]:
    """`make_client(batch_events=10)`: an LSOClient of the fake with the key "test-key", closed
    after the test. Its backoff waits are appended to `sleeps` and last a millisecond."""
    made: list[LSOClient] = []

    def record(delay_s: float) -> None:
        sleeps.append(delay_s)
        time.sleep(0.001)

    def make(**options: Any) -> LSOClient:
        options = {"url": fake.url, "key": "test-key", "sleep": record, **options}
        made.append(LSOClient(**options))
        return made[-1]

    yield make
    for client in made:
        client.close(timeout_s=1)
