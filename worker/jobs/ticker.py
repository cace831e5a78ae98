"""The periodic jobs: each period's job is enqueued once, whichever `lso jobs` process gets there
first (SET NX on a marker per period), so running several of them never doubles a job."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from shared.store import jobqueue, keys
from worker.jobs import context, evaluate, groups, late_ends, maintenance

log = logging.getLogger("lso.jobs")

# More queued than this and a period is skipped: a slow pass is not made slower by a pile-up.
MAX_QUEUED = 20
# Ends that waited for their start are counted within a second of their wait being over.
LATE_ENDS_INTERVAL_S = 1.0
# A channel's group goes out within a second of its window's end.
GROUPS_INTERVAL_S = 1.0


class Ticker(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="lso-ticker", daemon=True)
        self.stopping = threading.Event()
        self._seen: dict[str, int] = {}  # job -> the last period this ticker tried to claim

    def run(self) -> None:
        while not self.stopping.wait(self._pause_s()):
            try:
                self.tick(time.time())
            except Exception:  # the store may be down: try again next period, never die
                log.exception("ticker: could not enqueue the periodic jobs")

    def _pause_s(self) -> float:
        # A tenth of the period: a pass is enqueued within 0.1 s of its period's start, not
        # half a period late (the lateness of a failure's transition is the period plus this).
        return min(context.settings().evaluate_interval_s, 1.0) / 10

    def tick(self, now_s: float) -> list[str]:
        """Enqueue every periodic job whose period has begun; returns their names."""
        s = context.settings()
        due: list[tuple[str, float, Callable[..., Any], dict[str, Any]]] = [
            ("evaluate", s.evaluate_interval_s, evaluate.evaluate, {"sweep": False}),
            ("sweep", s.sweep_interval_s, evaluate.evaluate, {"sweep": True}),
            ("retention", s.retention_interval_s, maintenance.retention, {}),
            ("late_ends", LATE_ENDS_INTERVAL_S, late_ends.count_late_ends, {}),
            ("groups", GROUPS_INTERVAL_S, groups.flush, {}),
        ]
        queue = context.queue(jobqueue.HIGH)
        enqueued = []
        for name, interval_s, func, kwargs in due:
            period = int(now_s // interval_s)
            if self._seen.get(name) == period:
                continue  # claimed already, by this ticker or another: no store call per tick
            marker = keys.tick(name, period)
            claimed = context.rq_connection().set(
                marker, 1, nx=True, ex=max(int(interval_s) * 2, 2)
            )
            self._seen[name] = period
            if not claimed:
                continue
            if queue.count > MAX_QUEUED:
                log.warning("ticker: %d jobs waiting; %s skipped this period", queue.count, name)
                continue
            queue.enqueue(func, kwargs=kwargs, job_timeout=300, result_ttl=60, failure_ttl=86_400)
            enqueued.append(name)
        return enqueued
