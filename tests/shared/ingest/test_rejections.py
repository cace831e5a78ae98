"""The CPU budget of a system's rejected batches: a valid sender never waits; a sender of bad
batches waits, before its next body is read, until its debt is paid (on a fake clock)."""

import asyncio

import pytest

from shared.ingest import rejections
from shared.ingest.rejections import BURST_S, RejectionBudget


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    clock = FakeTime()
    monkeypatch.setattr(rejections.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(rejections.asyncio, "sleep", clock.sleep)
    return clock


def test_a_system_whose_batches_are_valid_never_waits(fake: FakeTime) -> None:
    budget = RejectionBudget(cpu_ms_per_s=50)
    for _ in range(100):
        held = asyncio.run(budget.admit(7))
        budget.settle(7, held, None)
    assert fake.slept == []


def test_bad_batches_cost_their_sender_time_and_nobody_else(fake: FakeTime) -> None:
    budget = RejectionBudget(cpu_ms_per_s=50)
    for _ in range(20):  # each rejection took 10 ms of CPU: 20 ms with its answer
        held = asyncio.run(budget.admit(7))
        budget.settle(7, held, 0.010)
    waited = sum(fake.slept)
    # 20 x 20 ms = 0.4 s of CPU, of which BURST_S is free: the rest at 50 ms a second.
    assert waited == pytest.approx((20 * 0.020 - BURST_S - 0.020) / 0.050, rel=0.15)
    fake.slept.clear()
    asyncio.run(budget.admit(8))  # another system is not held back
    assert fake.slept == []
