"""Jobs the API hands to `lso jobs` (rq), by function path: the API does not import job code."""

import asyncio

import redis

from shared.settings import Settings
from shared.store import jobqueue

PURGE = "worker.jobs.maintenance.purge"


class Jobs:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._connection: redis.Redis | None = None

    async def purge(self, partition: int, system_id: int) -> str:
        """Enqueue the removal of a deleted system's data; returns the job id."""
        return await asyncio.to_thread(self._enqueue, PURGE, partition, system_id)

    def _enqueue(self, func: str, *args: int) -> str:
        if self._connection is None:
            self._connection = jobqueue.connection(self._settings)
        queue = jobqueue.queue(jobqueue.HIGH, self._connection)
        job = queue.enqueue(func, *args, job_timeout=600, result_ttl=86_400, failure_ttl=86_400)
        return str(job.id)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
