"""What a job needs, made once per process: settings and connections (tests set their own)."""

from functools import cache

import redis
import rq

from shared.settings import Settings, get_settings
from shared.store import jobqueue
from shared.store.client import SyncRedis, sync_client

_settings: list[Settings] = []


def configure(settings: Settings) -> None:
    """Use `settings` in this process instead of the environment's (tests)."""
    _settings[:] = [settings]
    client.cache_clear()
    rq_connection.cache_clear()


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
