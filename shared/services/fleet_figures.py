"""The figures of a page of the fleet overview: per system, the events, error rate and p95 of its
policy's window and when its last event came (`GET /health?figures=true`, the dashboard's list).

They are read for the lines of one page only, never for the fleet: one health read of the window
for each (read_many: every counter container and meta hash of the page in one script call a
partition), so a page of 50 costs about what 50 health reads cost the store, in one round trip,
whatever the fleet's size. The read is of the window alone (no sustain sub-windows, burn-rate
windows or raw events): the figures describe the window; the verdict beside them is the one the
jobs recorded.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.errors import PolicyConflict, SystemNotFound
from shared.model.policy import EffectivePolicy, resolve_stored
from shared.services.health import HealthReader
from shared.services.registry import Registry
from shared.settings import Settings

MAX_SYSTEMS = 500  # figures of more lines in one answer: ask for pages


@dataclass(frozen=True, slots=True)
class Figures:
    window_s: int
    total: int
    error_rate: float
    p95_latency_ms: float
    last_event_at: datetime | None


def window_only(policy: EffectivePolicy) -> EffectivePolicy:
    """The policy with every rule that reads beyond its window turned off."""
    return policy.model_copy(
        update={"sustain_seconds": 0, "recovery_seconds": 0, "burn_rate": None,
                "consecutive_failures": None}
    )  # fmt: skip


async def figures(
    registry: Registry,
    reader: HealthReader,
    settings: Settings,
    system_ids: Sequence[int],
    now: datetime,
) -> dict[int, Figures]:
    """The figures of each system of `system_ids` (at most MAX_SYSTEMS) by id; a system deleted
    meanwhile, or whose policy conflicts with the defaults (its health read says so), is left
    out."""
    if len(system_ids) > MAX_SYSTEMS:
        raise ValueError(f"figures of {len(system_ids)} systems asked; at most {MAX_SYSTEMS}")
    reads = []
    for system_id in system_ids:
        try:
            known = await registry.require(system_id)
            policy = window_only(resolve_stored(known.policy, settings))
        except (SystemNotFound, PolicyConflict):
            continue
        reads.append((system_id, policy, known.system.created_at))
    found = {}
    for health in await reader.read_many(reads, now):
        found[health.system_id] = Figures(
            health.window_seconds,
            health.total,
            health.error_rate,
            health.p95_latency,
            health.last_event_at,
        )
    return found
