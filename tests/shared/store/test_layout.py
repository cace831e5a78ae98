"""The partition layout: epochs of partition counts, and their atomic change (layout.lua)."""

import redis

from shared.store import keys, layout
from shared.store.layout import Layout


def test_a_system_keeps_the_partition_of_the_epoch_it_was_registered_in() -> None:
    current = Layout(epochs=((1, 2), (4, 8)), registered=9)
    assert [current.partition_of(sid) for sid in (1, 2, 3, 4, 9)] == [1, 0, 1, 4, 1]
    assert (current.partitions, current.streams) == (8, 8)
    assert current.partition_of(10) is None, "registered after the read: the layout may be old"


def test_the_stream_count_never_shrinks_below_a_partition_in_use() -> None:
    assert Layout(epochs=((1, 8), (20, 2)), registered=25).streams == 8


def test_first_use_creates_the_layout_and_a_change_starts_after_the_last_system(
    client: redis.Redis,
) -> None:
    assert layout.load_sync(client, 4) == Layout(((1, 4),), 0)
    assert layout.load_sync(client, 16) == Layout(((1, 4),), 0), "a plain read never changes it"
    client.set(keys.REGISTRY_SEQ, 5)
    assert layout.load_sync(client, 8, change=True) == Layout(((1, 4), (6, 8)), 5)
    # No system registered under the newest epoch yet: a second change amends it.
    assert layout.load_sync(client, 2, change=True) == Layout(((1, 4), (6, 2)), 5)
    assert layout.load_sync(client, 2, change=True).epochs == ((1, 4), (6, 2))
