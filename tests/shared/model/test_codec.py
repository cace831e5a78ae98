import orjson
import pytest

from shared.model.codec import Row, UndecodableEntry, decode_batch, encode_batch

ROW = [1_700_000_000_123, 1, 12.5, "load", "extract", "run-1", "ev-1", {"rows": 3}]


def test_round_trip() -> None:
    batch = decode_batch(encode_batch(42, [ROW, ROW]))
    assert batch.system_id == 42
    assert batch.events == [Row(*ROW)] * 2  # type: ignore[arg-type]
    assert list(batch.events[0]) == ROW


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {b"v": b"9", b"s": b"1", b"n": b"0", b"e": b"[]"},
        {b"v": b"1", b"s": b"x", b"n": b"0", b"e": b"[]"},
        {b"v": b"1", b"s": b"1", b"n": b"1", b"e": b"not json"},
        {b"v": b"1", b"s": b"1", b"n": b"2", b"e": orjson.dumps([ROW])},
        {b"v": b"1", b"s": b"1", b"n": b"1", b"e": b"[[1]]"},
        {b"v": b"1", b"s": b"1", b"n": b"?", b"e": b"[]"},
    ],
)
def test_malformed_entries_are_undecodable(fields: dict[bytes, bytes]) -> None:
    with pytest.raises(UndecodableEntry):
        decode_batch(fields)
