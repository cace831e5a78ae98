"""Script calls sent together: one pipeline per server, so one round trip per node.

A plain client gets one pipeline. redis-py's cluster pipeline refuses EVALSHA, so on a cluster each
call goes into a plain pipeline on the connection of the node that holds its keys' slot (every
key of one call shares a hash tag); replies come back in queueing order either way.
"""

import redis
import redis.client
import redis.cluster

from shared.store.client import SyncRedis, is_cluster

# Replies of a node that no longer holds the slot (the call was not run there).
MOVED_ERRORS = (redis.exceptions.MovedError, redis.exceptions.AskError)


class ScriptBatch:
    def __init__(self, client: SyncRedis) -> None:
        self._client = client
        self._pipes: dict[str, redis.client.Pipeline] = {}
        self._order: list[tuple[str, int]] = []  # (node, position in its pipeline) per call

    def pipe_for(self, key: str) -> redis.client.Pipeline:
        """The pipeline to queue exactly one command or script call on, whose keys hash like
        `key`."""
        node = ""
        if isinstance(self._client, redis.cluster.RedisCluster):
            cluster_node = self._client.get_node_from_key(key)  # type: ignore[no-untyped-call]
            node = cluster_node.name
            if node not in self._pipes:
                connection = cluster_node.redis_connection
                assert connection is not None, f"no connection to cluster node {node}"
                self._pipes[node] = connection.pipeline(transaction=False)
        elif node not in self._pipes:
            self._pipes[node] = self._client.pipeline(transaction=False)
        pipe = self._pipes[node]
        self._order.append((node, len(pipe)))
        return pipe

    def execute(self) -> list[object]:
        """Every reply in queueing order; errors are returned, not raised, except that a lost
        connection raises."""
        replies = {node: pipe.execute(raise_on_error=False) for node, pipe in self._pipes.items()}
        return [replies[node][position] for node, position in self._order]


def refresh_slots_if_moved(client: SyncRedis, replies: list[object]) -> bool:
    """After a resharding or failover a node answers MOVED/ASK: re-read the slot map. True when
    it had to (the calls concerned were not run and may be sent again)."""
    moved = any(
        isinstance(r, redis.exceptions.MovedError | redis.exceptions.AskError) for r in replies
    )
    if moved and is_cluster(client):
        client.nodes_manager.initialize()  # type: ignore[union-attr]
    return moved
