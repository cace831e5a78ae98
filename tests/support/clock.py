"""A settable clock, for the API (`app.state.clock`) and the jobs (`worker.jobs.context`)."""

from datetime import UTC, datetime


class Clock:
    """Says `now` until a test moves it (`clock.now += timedelta(...)`); starts at the real time,
    mid-second, so that a few hundred milliseconds either way stay in the same second."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=500_000)

    def __call__(self) -> datetime:
        return self.now

    @property
    def now_ms(self) -> int:
        return int(self.now.timestamp() * 1000)
