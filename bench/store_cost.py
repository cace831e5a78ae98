"""What the store spends on applying events: its command time and its CPU, per applied event.

INFO commandstats counts a command run inside a script twice: under its own name and inside the
script's EVALSHA. The apply path's command time is therefore EVALSHA (every write of an apply is
inside apply.lua) plus the worker's reads (XREADGROUP), not the sum over all commands, which
counted apply.lua's HINCRBYs twice (the "store µs/event" of bench.scaling before issue 18). The
main thread's CPU (INFO cpu) adds what no command counts: reading requests, writing replies.
"""

from dataclasses import dataclass

import redis
import redis.cluster

Client = redis.Redis | redis.cluster.RedisCluster
APPLY_PATH = ("evalsha", "xreadgroup")


@dataclass(frozen=True)
class StoreTime:
    command_us: float  # the apply path's commands (APPLY_PATH), µs
    cpu_us: float  # the main thread's CPU, user + system, µs


def _nodes(client: Client) -> list[redis.Redis]:
    if isinstance(client, redis.cluster.RedisCluster):
        found = client.get_nodes()  # type: ignore[no-untyped-call]
        return [n.redis_connection for n in found if n.redis_connection is not None]
    return [client]


def store_time(client: Client) -> StoreTime:
    """The totals so far, summed over every node."""
    command_us = cpu_us = 0.0
    for node in _nodes(client):
        stats: dict[str, dict[str, float]] = node.info("commandstats")
        command_us += sum(stats.get(f"cmdstat_{name}", {}).get("usec", 0) for name in APPLY_PATH)
        cpu: dict[str, float] = node.info("cpu")
        user = cpu.get("used_cpu_user_main_thread", cpu["used_cpu_user"])
        system = cpu.get("used_cpu_sys_main_thread", cpu["used_cpu_sys"])
        cpu_us += (user + system) * 1e6
    return StoreTime(command_us, cpu_us)


def per_event(before: StoreTime, after: StoreTime, events: int) -> dict[str, float]:
    """{"store_us_per_event", "store_cpu_us_per_event"} between two readings."""
    n = max(events, 1)
    return {
        "store_us_per_event": (after.command_us - before.command_us) / n,
        "store_cpu_us_per_event": (after.cpu_us - before.cpu_us) / n,
    }
