"""Count the ends that waited for a start that never came (an rq job, every second).

An OpenLineage end reported before its START waits LSO_RUN_START_WAIT_S for it
(shared/services/run_starts.py); this counts each one whose wait is over, with the duration from
its start if that arrived meanwhile, else latency 0, as an end without a START is counted in
order. A job that dies midway leaves what it took to the next after a lease; the end's event id
keeps a repeat from counting twice.
"""

import logging

from shared.errors import RetryLater, SystemNotFound
from shared.ingest.accept import Ingest
from shared.ingest.append import StreamAppender
from shared.ingest.rejections import RejectionBudget
from shared.ingest.validate import BatchValidator
from shared.services.backlog import Readiness
from shared.services.registry import Registry
from shared.services.run_starts import RunStarts
from shared.settings import Settings
from shared.store import keys
from shared.store.client import AsyncRedis, async_client
from shared.store.partitions import Partitions
from worker.jobs import context

log = logging.getLogger("lso.jobs")

LEASE_MS = 30_000  # what a sweep took is due again this much later unless it was counted
PER_PARTITION = 500  # ends taken per partition and pass


def count_late_ends() -> dict[str, int]:
    """One pass; returns how many ends it counted and how many it left for later."""
    s, now_ms = context.settings(), context.now_ms()
    counted, later = context.run(lambda client: _count_on(client, s, now_ms))
    return {"counted": counted, "later": later}


async def _count(s: Settings, now_ms: int) -> tuple[int, int]:
    """One pass on a client of its own (tests)."""
    client = async_client(s)
    try:
        return await _count_on(client, s, now_ms)
    finally:
        await client.aclose()


async def _count_on(client: AsyncRedis, s: Settings, now_ms: int) -> tuple[int, int]:
    partitions = Partitions(client, s.partitions)
    waiting = await _waiting(client, (await partitions.layout()).streams, now_ms)
    if not waiting:  # the common case, every second: one round trip, no ingest set up
        return 0, 0
    ingest_client = async_client(s, resend=False)
    try:
        registry = Registry(client, s.rate_limit_events_per_s, partitions)
        ingest = Ingest(
            registry, Readiness(client, s, partitions), BatchValidator(s),
            StreamAppender(ingest_client, s, partitions), RejectionBudget(s.rejected_cpu_ms_per_s),
        )  # fmt: skip
        run_starts = RunStarts(client, partitions, s.counter_retention_s)
        counted = later = 0
        for partition in waiting:
            for end in await run_starts.take_due(partition, now_ms, LEASE_MS, PER_PARTITION):
                start = await run_starts.find(end.system_id, end.pair_id)
                try:
                    await ingest.accept_rows(end.system_id, [end.counted(start)])
                    counted += 1
                except SystemNotFound:
                    pass  # deleted meanwhile: nothing to count it in
                except RetryLater as exc:  # over its rate limit, or shedding: after the lease
                    log.info("late end of system %d left for later: %s", end.system_id, exc)
                    later += 1
                    continue
                await run_starts.settle(end)
        return counted, later
    finally:
        await ingest_client.aclose()


async def _waiting(client: AsyncRedis, streams: int, now_ms: int) -> list[int]:
    """The partitions with an end whose wait (or lease) is over."""
    pipe = client.pipeline(transaction=False)
    for partition in range(streams):
        pipe.zcount(keys.ends_waiting_due(partition), "-inf", now_ms)
    return [partition for partition, n in enumerate(await pipe.execute()) if int(n)]
