"""Time ranges given in query parameters: defaults, order, and bounds that keep the arithmetic on
them (windows, steps, retention) inside what datetimes can hold."""

from datetime import UTC, datetime, timedelta

from fastapi import HTTPException

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def time_range(
    start: datetime | None, end: datetime | None, now: datetime, default_span: timedelta,
    names: tuple[str, str],
) -> tuple[datetime, datetime]:  # fmt: skip
    """(start, end): end defaults to now, start to end − default_span; 422 when out of order or
    outside 1970–2200."""
    for value, name in ((start, names[0]), (end, names[1])):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise HTTPException(422, f"`{name}` must lie between 1970 and 2200")
    end = end or now
    start = start or max(end - default_span, EARLIEST)
    if start > end:
        raise HTTPException(422, f"`{names[0]}` must not be after `{names[1]}`")
    return start, end
