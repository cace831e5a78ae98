"""What a job needs, made once per process: settings, connections and the clock (tests set their
own)."""

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import redis
import rq

from shared.settings import Settings, get_settings
from shared.store import jobqueue
from shared.store.client import AsyncRedis, SyncRedis, async_client, sync_client

T = TypeVar("T")
Clock = Callable[[], datetime]
_settings: list[Settings] = []
_clock: list[Clock] = []
_loops: dict[int, tuple[asyncio.AbstractEventLoop, AsyncRedis]] = {}  # thread id -> its own
_loops_lock = threading.Lock()


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def configure(settings: Settings, clock: Clock | None = None) -> None:
    """Use `settings` (and `clock`, default the wall clock) in this process instead of the
    environment's (tests)."""
    _settings[:] = [settings]
    _clock[:] = [clock or _wall_clock]
    _close_loops()
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


def run(work: Callable[[AsyncRedis], Coroutine[Any, Any, T]]) -> T:
    """Run `work` with this thread's async client on this thread's event loop. Both are kept
    from one job to the next (`lso jobs` runs its jobs one at a time in its main thread), so that
    what the services cache (the registry's systems and policies, the partition layout) outlives
    a pass: a new client a pass meant re-reading every system's registry entry every second."""
    me = threading.get_ident()
    with _loops_lock:
        if me not in _loops:
            _loops[me] = (asyncio.new_event_loop(), async_client(settings()))
        loop, store = _loops[me]
    return loop.run_until_complete(work(store))


def _close_loops() -> None:
    with _loops_lock:
        kept = list(_loops.values())
        _loops.clear()
    for loop, store in kept:
        loop.run_until_complete(store.aclose())
        loop.close()
