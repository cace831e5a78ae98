"""Connection factories with LSO's timeouts and retry policy (redis-py 8 defaults do not fit us).

redis-py 8 waits 5 s per call and retries timeouts several times; the API must instead fail fast
(turning a dead store into a 503), and a worker's blocking XREADGROUP must not be cut by the socket
timeout, so each side sets its own.

With LSO_REDIS_CLUSTER the same factories return redis-py's cluster clients, seeded from the one
node in LSO_REDIS_URL; every key a command or script touches shares one hash tag
(shared/store/keys.py), so the rest of LSO uses either kind of client the same way.
"""

from typing import Any, TypeAlias

import redis
import redis.asyncio as aioredis
import redis.asyncio.client
import redis.asyncio.cluster
import redis.client
import redis.cluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from shared.settings import Settings

SyncRedis: TypeAlias = redis.Redis | redis.cluster.RedisCluster
AsyncRedis: TypeAlias = aioredis.Redis | redis.asyncio.cluster.RedisCluster
SyncPipeline: TypeAlias = redis.client.Pipeline | redis.cluster.ClusterPipeline
AsyncPipeline: TypeAlias = redis.asyncio.client.Pipeline | redis.asyncio.cluster.ClusterPipeline

# One quick retry on a connection error covers a pooled connection that went stale (server restart);
# timeouts are not retried, so a call never waits much longer than its timeout.
_RETRY_ERRORS = (RedisConnectionError,)


def async_client(settings: Settings, resend: bool = True) -> AsyncRedis:
    """The API's client: every call bounded by LSO_REDIS_TIMEOUT_MS. `resend=False`: a call that
    fails is never sent again (the ingest call, whose outcome is settled instead: see
    shared/ingest/outcome.py)."""
    timeout_s = settings.redis_timeout_ms / 1000
    retries = 1 if resend else 0
    options: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": AsyncRetry(ExponentialBackoff(cap=0.05, base=0.01), retries, _RETRY_ERRORS),
        "protocol": 3,
    }
    if settings.redis_cluster:
        options["max_connections"] = settings.redis_max_connections
        return redis.asyncio.cluster.RedisCluster.from_url(settings.redis_url, **options)
    # A blocking pool: with every connection busy a call waits (up to the timeout) for one to be
    # free; the default pool raises MaxConnectionsError at once, a 503 for a burst of clients.
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=timeout_s,
        **options,
    )
    return aioredis.Redis.from_pool(pool)


def sync_client(settings: Settings) -> SyncRedis:
    """A worker's client: its socket timeout leaves room for the blocking read."""
    options: dict[str, Any] = {
        "socket_timeout": settings.worker_block_ms / 1000 + settings.redis_timeout_ms / 1000,
        "socket_connect_timeout": settings.redis_timeout_ms / 1000,
        "retry": Retry(ExponentialBackoff(cap=0.05, base=0.01), 1, _RETRY_ERRORS),
        "protocol": 3,
    }
    if settings.redis_cluster:
        return redis.cluster.RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, **options)


def text(raw: bytes | str) -> str:
    """A reply value as text (replies are bytes, or str on a client that decodes)."""
    return raw.decode() if isinstance(raw, bytes) else raw


def is_cluster(client: SyncRedis | AsyncRedis) -> bool:
    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.cluster.RedisCluster)
