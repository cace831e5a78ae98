"""rq as LSO uses it: its key prefix, its connection and the queue names.

rq reads RQ_KEY_PREFIX once, when first imported, so import rq only after this module (the
worker/jobs package imports it first). The prefix carries one hash tag: all of rq's keys live in
one slot, so on a cluster rq talks to the master owning that slot over a plain connection (rq's
worker needs a plain `redis.Redis`; the cluster client has no single connection pool).
"""

import os
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.cluster

from shared.settings import Settings
from shared.store import keys

os.environ["RQ_KEY_PREFIX"] = keys.RQ_PREFIX

import rq  # noqa: E402
import rq.defaults  # noqa: E402

if rq.defaults.RQ_KEY_PREFIX != keys.RQ_PREFIX:
    raise RuntimeError("rq was imported before shared.store.jobqueue set LSO's key prefix")

HIGH = "lso-high"  # evaluation, dispatch, retention, purges: short jobs
NOTIFY = "lso-notify"  # deliveries: may wait on a slow receiver, so apart
QUEUES = (HIGH, NOTIFY)


def connection(settings: Settings) -> redis.Redis:
    """A plain connection for rq: to the server, or on a cluster to the master owning rq's slot
    (after a failover, restart the process to find the new one)."""
    options = {"socket_timeout": settings.redis_timeout_ms / 1000 + 10, "socket_connect_timeout": 5}
    if not settings.redis_cluster:
        return redis.Redis.from_url(settings.redis_url, **options)
    seed = redis.cluster.RedisCluster.from_url(settings.redis_url)
    try:
        node = seed.get_node_from_key(keys.RQ_PREFIX)  # type: ignore[no-untyped-call]
    finally:
        seed.close()
    parts = urlsplit(settings.redis_url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{node.host}:{node.port}" if userinfo else f"{node.host}:{node.port}"
    return redis.Redis.from_url(urlunsplit(parts._replace(netloc=netloc)), **options)


def queue(name: str, conn: redis.Redis) -> rq.Queue:
    return rq.Queue(name, connection=conn)
