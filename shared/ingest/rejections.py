"""A budget of this process's CPU for each system's rejected batches.

Validating a bad body costs more than accepting a good one of the same length (every error is
built and named), and a client that sends bad bodies in a loop would take its turn in the event
loop as often as everyone else: four of them cut another tenant's ingest to a twentieth. So each
system may spend at most LSO_REJECTED_CPU_MS_PER_S of CPU a second on rejected batches in this
process; past that its next requests wait, before their body is read, until the debt is paid (a
timer, no work). A system whose batches are valid never waits. Waiting requests hold back a
share of the cost they are likely to add, so a crowd of them cannot all pass at once.
"""

import asyncio
import time

BURST_S = 0.05  # CPU seconds of rejections a system may spend at once before it waits
# Counted per second of validation: building and sending the error answer costs about as much.
ANSWER_FACTOR = 2.0


class RejectionBudget:
    def __init__(self, cpu_ms_per_s: float) -> None:
        self._rate = cpu_ms_per_s / 1000  # CPU seconds per second, per system
        self._debt: dict[int, tuple[float, float]] = {}  # system id -> (CPU s owed, as of)
        self._typical: dict[int, float] = {}  # system id -> cost of its last rejection (s)

    async def admit(self, system_id: int) -> float:
        """Wait until the system may be validated; returns what was held back for it (pass it
        to `settle`)."""
        held = self._typical.get(system_id, 0.0)
        if not held:
            return 0.0
        while True:
            owed = self._owed(system_id)
            if owed <= BURST_S + 1e-6:  # the tolerance ends the wait that float rounding prolongs
                self._debt[system_id] = (owed + held, time.monotonic())
                return held
            await asyncio.sleep((owed - BURST_S) / self._rate)

    def settle(self, system_id: int, held: float, rejected_cpu_s: float | None) -> None:
        """Replace what `admit` held back with the real cost (None: the batch was valid)."""
        cost = 0.0 if rejected_cpu_s is None else rejected_cpu_s * ANSWER_FACTOR
        if rejected_cpu_s is not None:
            self._typical[system_id] = cost
        owed = max(self._owed(system_id) - held + cost, 0.0)
        if owed or system_id in self._debt:
            self._debt[system_id] = (owed, time.monotonic())
        if len(self._debt) > 10_000:  # forget the paid-up ones
            self._debt = {s: d for s, d in self._debt.items() if d[0] > 0}

    def _owed(self, system_id: int) -> float:
        owed, at = self._debt.get(system_id, (0.0, 0.0))
        return max(owed - (time.monotonic() - at) * self._rate, 0.0)
