"""A script and its fsync in one round trip: EVALSHA, then WAITAOF 1 0 on the same connection.

WAITAOF waits for the writes of its own connection only, so both go in one pipeline (on a
cluster, to the node that holds the script's keys). The callers decide what each answer means:
a batch's append (shared/ingest/append.py), the fence of an unanswered append
(shared/ingest/outcome.py), an end waiting for its start (shared/services/run_starts.py).
"""

from typing import Any

from shared.store import scripts
from shared.store.client import AsyncRedis, is_cluster


async def run_and_fsync(
    client: AsyncRedis, sha: str, call: scripts.Call, timeout_ms: int
) -> tuple[Any, Any]:
    """(the script's answer, WAITAOF's answer), each an exception instead when it failed."""
    node: dict[str, Any] = {}
    if is_cluster(client):
        node["target_nodes"] = client.get_node_from_key(call.keys[0])  # type: ignore[union-attr]
    pipe = client.pipeline(transaction=False)
    pipe.evalsha(sha, len(call.keys), *call.keys, *call.args)
    pipe.execute_command("WAITAOF", 1, 0, timeout_ms, **node)
    answer, waited = await pipe.execute(raise_on_error=False)
    return answer, waited


def fsynced(waited: Any) -> bool:
    """WAITAOF answered that the local AOF holds the writes."""
    return not isinstance(waited, Exception) and int(waited[0]) >= 1
