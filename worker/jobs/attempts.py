"""Sending one delivery, whatever it carries: a system's transition (worker/jobs/notify.py) or a
channel's group of them (worker/jobs/groups.py). The same rq options, attempts and outcomes for
both, so that a grouped delivery retries, fails and is counted exactly like a single one."""

import logging
from collections.abc import Callable
from typing import Any

from rq.job import Retry

from shared.model.channels import Channel
from shared.store import jobqueue
from worker.jobs import context
from worker.jobs.bodies import signed_headers
from worker.jobs.http import DeliveryFailed, post

log = logging.getLogger("lso.jobs")

Save = Callable[[str], str]  # records the delivery with that status; returns it


def job_id(delivery_id: str) -> str:
    return f"lso-deliver-{delivery_id}"


def enqueue(func: Callable[..., str], args: tuple[Any, ...], delivery_id: str) -> None:
    """Enqueue the job sending `delivery_id` (its rq job id comes from it), with rq retries at
    doubling intervals for the attempts after the first."""
    s = context.settings()
    retries = s.notify_max_attempts - 1
    retry = None
    if retries:
        retry = Retry(max=retries, interval=[s.notify_retry_base_s * 2**i for i in range(retries)])
    context.queue(jobqueue.NOTIFY).enqueue(
        func,
        *args,
        job_id=job_id(delivery_id),
        retry=retry,
        job_timeout=int(s.webhook_timeout_s) + 30,
        result_ttl=3600,
        failure_ttl=86_400,
    )


def attempt(
    channel: Channel, body: bytes, delivery_id: str, record: dict[str, Any], save: Save
) -> str:
    """POST `body` to the channel once, signed, and `save` the outcome: delivered; retrying
    (then raises, so that rq tries again after its interval); failed once the attempts are
    spent. `record` is the delivery's JSON, whose `attempts` and `last_error` this updates."""
    s = context.settings()
    record["attempts"] += 1
    headers = signed_headers(channel.secret, body, delivery_id, context.now_ms() // 1000)
    try:
        post(channel.url, body, headers, s.webhook_timeout_s, s.allow_private_webhooks)
    except DeliveryFailed as exc:
        record["last_error"] = str(exc)[:500]
        if record["attempts"] >= s.notify_max_attempts:
            log.warning("delivery %s failed for good: %s", delivery_id, exc)
            return save("failed")
        save("retrying")
        raise
    return save("delivered")
