"""The ticker: each periodic job once per period, however many `lso jobs` processes tick."""

from shared.settings import Settings
from shared.store import jobqueue
from worker.jobs import context
from worker.jobs.ticker import GROUPS_INTERVAL_S, LATE_ENDS_INTERVAL_S, Ticker


def test_two_tickers_enqueue_each_periodic_job_once_per_period(job_settings: Settings) -> None:
    first, second = Ticker(), Ticker()
    now_s = 1_900_000_000.0
    assert sorted(first.tick(now_s)) == ["evaluate", "groups", "late_ends", "retention", "sweep"]
    assert second.tick(now_s) == []
    assert job_settings.evaluate_interval_s == LATE_ENDS_INTERVAL_S == GROUPS_INTERVAL_S == 1.0
    assert sorted(second.tick(now_s + 1.0)) == ["evaluate", "groups", "late_ends"]
    assert first.tick(now_s + 1.0) == []
    assert first.tick(now_s + 1.5) == []
    assert context.queue(jobqueue.HIGH).count == 8
