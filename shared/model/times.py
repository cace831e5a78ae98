"""Epoch milliseconds as RFC 3339 text, fast enough for pages of thousands of timestamps."""

from datetime import UTC, datetime

_SECONDS: dict[int, str] = {}  # second -> "YYYY-MM-DDTHH:MM:SS", bounded


def iso_ms(ms: int) -> str:
    """`2026-12-01T09:00:00.123Z`: the same text as datetime's isoformat of that millisecond in
    UTC, with a Z. Timestamps of one answer mostly share their seconds, whose text is kept."""
    second, rest = divmod(ms, 1000)
    prefix = _SECONDS.get(second)
    if prefix is None:
        if len(_SECONDS) >= 65_536:
            _SECONDS.clear()
        prefix = _SECONDS[second] = datetime.fromtimestamp(second, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    return f"{prefix}.{rest:03d}Z"
