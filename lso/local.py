"""How the `lso` commands find the store of the local `lso up`.

`lso up` with an embedded store writes `store.json` into its data dir once the store answers
(`{"url": ..., "cluster": ...}`, readable by its owner only) and removes it when it stops. Every
other command reads it from `--data-dir` (default `./.lso`); LSO_REDIS_URL, when set, always wins.
A store that cannot be found or reached is a `StoreError`, whose text is the one line to show.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.exceptions

from shared.settings import Settings
from shared.store.client import SyncRedis, sync_client

RECORD = "store.json"
DEFAULT_DATA_DIR = "./.lso"
_START_HINT = "start it with scripts/run, or set LSO_REDIS_URL"
# What a client raises when nothing answers: redis-py's cluster client does not use RedisError.
UNREACHABLE_ERRORS = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.RedisClusterException,
)


class StoreError(Exception):
    """The store cannot be found or reached; `str()` is one line for the terminal."""


@dataclass(frozen=True)
class Store:
    """The store a command uses. `record`: the store.json it was found through; None when it
    came from LSO_REDIS_URL."""

    settings: Settings
    record: Path | None = None

    def describe(self) -> str:
        return redacted(self.settings.redis_url)

    def hint(self) -> str:
        if self.record is None:
            return "check LSO_REDIS_URL"
        return f"is `lso up` running? {_START_HINT}"


def write_record(data_dir: Path, url: str, cluster: bool) -> Path:
    """Leave the store's address for the other commands (atomically: no reader sees half)."""
    path = data_dir / RECORD
    partial = data_dir / f".{RECORD}.partial"
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "cluster": cluster}, f)
        f.write("\n")
    partial.replace(path)
    return path


def remove_record(data_dir: Path) -> None:
    (data_dir / RECORD).unlink(missing_ok=True)


def find(data_dir: Path) -> Store:
    """The store to use: LSO_REDIS_URL's if set, else the one `lso up` recorded in `data_dir`.
    The other LSO_ settings come from the environment either way."""
    if os.environ.get("LSO_REDIS_URL"):
        return Store(Settings())
    path = data_dir.resolve() / RECORD
    try:
        record = json.loads(path.read_text())
        settings = Settings(redis_url=record["url"], redis_cluster=record["cluster"])
    except FileNotFoundError:
        raise StoreError(
            f"no running `lso up` found in {data_dir.resolve()} "
            f"({_START_HINT}, or pass --data-dir DIR)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # pydantic's errors are ValueErrors
        raise StoreError(f"cannot read {path} ({_one_line(exc)}); restart `lso up`") from None
    return Store(settings, path)


@contextmanager
def reaching(store: Store) -> Iterator[None]:
    """Turn a client's failure to reach `store` inside the block into a `StoreError`."""
    try:
        yield
    except UNREACHABLE_ERRORS as exc:
        raise StoreError(
            f"cannot reach the store at {store.describe()} ({_one_line(exc)}); {store.hint()}"
        ) from None


def connect(store: Store) -> SyncRedis:
    """A client whose store has answered a PING."""
    with reaching(store):
        client = sync_client(store.settings)
        client.ping()
    return client


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def redacted(url: str) -> str:
    """`url` without its password (LSO_REDIS_URL may carry one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
