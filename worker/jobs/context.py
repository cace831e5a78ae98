"""What a job needs, made once per process: settings, connections and the clock (tests set their
own)."""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

import redis
import rq

from shared.settings import Settings, get_settings
from shared.store import jobqueue
from shared.store.client import SyncRedis, sync_client

Clock = Callable[[], datetime]
_settings: list[Settings] = []
_clock: list[Clock] = []


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def configure(settings: Settings, clock: Clock | None = None) -> None:
    """Use `settings` (and `clock`, default the wall clock) in this process instead of the
    environment's (tests)."""
    _settings[:] = [settings]
    _clock[:] = [clock or _wall_clock]
    client.cache_clear()
    rq_connection.cache_clear()


def now() -> datetime:
    """The current time as every job sees it: the wall clock unless a test injected another."""
    return _clock[0]() if _clock else _wall_clock()


def now_ms() -> int:
    return int(now().timestamp() * 1000)


def settings() -> Settings:
    return _settings[0] if _settings else get_settings()


@cache
def client() -> SyncRedis:
    return sync_client(settings())


@cache
def rq_connection() -> redis.Redis:
    return jobqueue.connection(settings())


def queue(name: str) -> rq.Queue:
    return jobqueue.queue(name, rq_connection())
