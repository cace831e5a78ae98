"""Finding the store (lso/local.py): the record `lso up` leaves, LSO_REDIS_URL over it, and one
line when the store is missing or silent."""

from pathlib import Path

import pytest

from lso import local
from lso.embedded import free_port
from shared.settings import Settings


@pytest.fixture(autouse=True)
def no_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LSO_REDIS_URL", raising=False)
    monkeypatch.delenv("LSO_REDIS_CLUSTER", raising=False)


def test_the_record_names_the_store_and_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = local.write_record(tmp_path, "redis://127.0.0.1:7001", cluster=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path], "no partial file left behind"
    store = local.find(tmp_path)
    assert (store.settings.redis_url, store.settings.redis_cluster) == (
        "redis://127.0.0.1:7001",
        True,
    )
    assert store.record == path.resolve()
    local.remove_record(tmp_path)
    with pytest.raises(local.StoreError, match=r"^no running `lso up` found in "):
        local.find(tmp_path)


def test_lso_redis_url_wins_over_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local.write_record(tmp_path, "unix:///nowhere/valkey.sock", cluster=False)
    monkeypatch.setenv("LSO_REDIS_URL", "redis://db.internal:6379/2")
    store = local.find(tmp_path)
    assert (store.settings.redis_url, store.record) == ("redis://db.internal:6379/2", None)


@pytest.mark.parametrize("damaged", ['{"url": ', '{"url": "x"}', '{"url": 1, "cluster": "?"}'])
def test_a_damaged_record_is_one_line(tmp_path: Path, damaged: str) -> None:
    (tmp_path / local.RECORD).write_text(damaged)
    with pytest.raises(local.StoreError) as caught:
        local.find(tmp_path)
    assert str(caught.value).startswith(f"cannot read {tmp_path.resolve() / local.RECORD} (")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("cluster", [False, True])
def test_a_store_that_does_not_answer_is_one_line_naming_it(cluster: bool) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    store = local.Store(Settings(redis_url=url, redis_cluster=cluster), Path("store.json"))
    with pytest.raises(local.StoreError) as caught:
        local.connect(store)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the store at {url} (")
    assert message.endswith("is `lso up` running? start it with scripts/run, or set LSO_REDIS_URL")
    assert "\n" not in message


def test_a_password_in_the_url_is_never_shown() -> None:
    assert local.redacted("redis://lso:s3cret@db:6379/0") == "redis://lso:***@db:6379/0"
    assert local.redacted("rediss://:s3cret@db:6380") == "rediss://:***@db:6380"
    assert local.redacted("unix:///tmp/valkey.sock") == "unix:///tmp/valkey.sock"
