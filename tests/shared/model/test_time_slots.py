from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from shared.model.time_slots import LEVELS, cover

DAY = 86_400
slot_size = {level.container_s: level.slot_s for level in LEVELS}


def seconds_covered(wanted: dict[tuple[int, int], set[int]]) -> Counter[int]:
    seen: Counter[int] = Counter()
    for (container_s, container_start), slots in wanted.items():
        size = slot_size[container_s]
        for slot in slots:
            start = container_start + slot * size
            assert start + size <= container_start + container_s
            seen.update(range(start, start + size))
    return seen


@given(
    st.integers(min_value=1_700_000_000, max_value=1_900_000_000),
    st.integers(min_value=0, max_value=2 * DAY),
)
def test_cover_counts_every_second_of_the_range_exactly_once(start: int, length: int) -> None:
    seen = seconds_covered(cover(start, start + length))
    assert set(seen) == set(range(start, start + length + 1))
    assert set(seen.values()) == {1}


@given(
    st.integers(min_value=1_700_000_000, max_value=1_900_000_000),
    st.integers(min_value=0, max_value=DAY),
)
def test_cover_reads_at_most_two_containers_per_level(start: int, length: int) -> None:
    per_level = Counter(container_s for container_s, _ in cover(start, start + length))
    assert max(per_level.values()) <= 2
    assert sum(per_level.values()) <= 2 * len(LEVELS)


def test_empty_range_has_no_cover() -> None:
    assert cover(10, 9) == {}
