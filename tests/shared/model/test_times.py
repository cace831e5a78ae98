"""iso_ms writes what datetime's isoformat writes for that UTC millisecond, with a Z."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from shared.model.times import iso_ms


@given(st.integers(0, 253_402_300_799_999))  # up to 9999-12-31T23:59:59.999Z
def test_iso_ms_is_the_isoformat_of_the_millisecond(ms: int) -> None:
    at = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
    assert iso_ms(ms) == at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert datetime.fromisoformat(iso_ms(ms)) == at
