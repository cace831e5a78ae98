"""Running the queued rq jobs in the test's own process."""

from collections.abc import Callable

from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from shared.store import jobqueue
from worker.jobs import context


def run_queued() -> None:
    """Run every queued job, and the scheduled ones that are due (rq's delayed retries), then
    return: a burst worker on every LSO queue, on the connection `worker.jobs.context` holds."""
    queues = [context.queue(name) for name in jobqueue.QUEUES]
    worker = SimpleWorker(queues, connection=context.rq_connection())
    worker.death_penalty_class = TimerDeathPenalty  # no SIGALRM: pytest-timeout has it
    worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


# The types of the fixtures of tests/worker/jobs/conftest.py.
RunJobs = Callable[..., None]
Send = Callable[[int, int, str], None]
MakeSystem = Callable[..., tuple[int, dict[str, str]]]
