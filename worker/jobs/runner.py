"""`lso jobs`: one rq worker (with rq's scheduler, which runs the delayed retries) on LSO's queues,
plus the ticker that enqueues the periodic jobs. Run as many as you like."""

import logging

import rq

from shared.store import jobqueue
from worker.consumer import consumer_name
from worker.jobs import context
from worker.jobs.ticker import Ticker

log = logging.getLogger("lso.jobs")


def run(burst: bool = False) -> int:
    """Work until SIGTERM/SIGINT (rq's warm shutdown: the job in hand finishes), or with `burst`
    until the queues are empty."""
    queues = [context.queue(name) for name in jobqueue.QUEUES]
    # SimpleWorker: jobs run in this process, not a fork per job (they are small, and a fork of a
    # process with the ticker's thread is best avoided); rq's scheduler still runs apart.
    worker = rq.SimpleWorker(queues, connection=context.rq_connection(), name=consumer_name())
    ticker = Ticker()
    if not burst:
        ticker.start()
    log.info("jobs worker %s on %s", worker.name, ", ".join(jobqueue.QUEUES))
    try:
        worker.work(burst=burst, with_scheduler=True, logging_level=context.settings().log_level)
    finally:
        ticker.stopping.set()
    return 0
