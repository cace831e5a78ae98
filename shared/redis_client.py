"""Connection factories with LSO's timeouts and retry policy (redis-py 8 defaults do not fit us).

redis-py 8 waits 5 s per call and retries timeouts several times; the API must instead fail fast
(turning a dead store into a 503), and a worker's blocking XREADGROUP must not be cut by the socket
timeout, so each side sets its own.
"""

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from shared.settings import Settings

# One quick retry on a connection error covers a pooled connection that went stale (server restart);
# timeouts are not retried, so a call never waits much longer than its timeout.
_RETRY_ERRORS = (RedisConnectionError,)


def async_client(settings: Settings) -> aioredis.Redis:
    """The API's client: every call bounded by LSO_REDIS_TIMEOUT_MS."""
    timeout_s = settings.redis_timeout_ms / 1000
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=AsyncRetry(ExponentialBackoff(cap=0.05, base=0.01), 1, _RETRY_ERRORS),
        protocol=3,
    )


def sync_client(settings: Settings) -> redis.Redis:
    """A worker's client: its socket timeout leaves room for the blocking read."""
    timeout_s = settings.worker_block_ms / 1000 + settings.redis_timeout_ms / 1000
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout_s,
        socket_connect_timeout=settings.redis_timeout_ms / 1000,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1, _RETRY_ERRORS),
        protocol=3,
    )
