"""From a verdict change to deliveries (`dispatch`), and the rq job sending one (`deliver`).

Delivery is at least once: a receiver may get a delivery twice after a crash at the wrong moment,
and can tell by its `X-LSO-Delivery` id. A delivery's log (`GET /systems/{id}/notifications`)
says queued, retrying, delivered or failed, with the attempts and the last error. A delivery to
a channel with `group_window_s` goes out with its channel's group instead (worker/jobs/groups.py).
"""

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import orjson
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from shared.model.channels import Channel
from shared.model.policy import RELEASE_AFTER_S
from shared.store import keys, scripts
from shared.store.client import SyncRedis, text
from worker.jobs import attempts, context, groups
from worker.jobs.bodies import Notice, render

log = logging.getLogger("lso.jobs")

DELIVERIES_KEPT = 1000  # per system
RECONCILE_AFTER_MS = 60_000
DUE_PER_PASS = 500
DEAD = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def channels(client: SyncRedis) -> list[Channel]:
    docs: list[bytes] = client.hvals(keys.CHANNELS)  # type: ignore[assignment]
    return [Channel.model_validate_json(doc) for doc in docs]


# For each system: why an upstream of it fails ('' when none does), and its release_after_s in ms
Holds = Callable[[list[int]], Mapping[int, tuple[str, int]]]
NOT_HELD = ("", RELEASE_AFTER_S * 1000)


def dispatch(client: SyncRedis, partition: int, now_ms: int, holds: Holds | None = None) -> int:
    """Tell the systems of the partition whose notification is due; returns deliveries made.
    `holds` says which of them have a failing upstream (their notification is then held)."""
    due: list[bytes] = client.zrangebyscore(  # type: ignore[assignment]
        keys.outbox(partition), "-inf", now_ms, start=0, num=DUE_PER_PASS
    )
    if not due:
        return 0
    held = {} if holds is None else holds([int(raw) for raw in due])
    every = channels(client)
    grouped = groups.grouped_channels(every)
    script = client.register_script(scripts.source(scripts.NOTIFY))
    made = 0
    s = context.settings()
    for raw in due:
        system_id = int(raw)
        listed = [
            [c.channel_id, list(c.notify_on)] for c in every if c.system_id in (None, system_id)
        ]
        min_interval_ms = s.notify_min_interval_s * 1000
        held_by, release_after_ms = held.get(system_id, NOT_HELD)
        call = scripts.notify(
            partition,
            system_id,
            now_ms,
            min_interval_ms,
            DELIVERIES_KEPT,
            orjson.dumps(listed).decode(),
            held_by,
            release_after_ms,
        )
        reply = script(keys=call.keys, args=call.args)
        if int(reply[0]) == scripts.NotifyStatus.TOLD:
            for delivery_id in reply[1:]:
                if groups.route_to_group(client, partition, system_id, text(delivery_id), grouped):
                    continue  # goes out with its channel's group (worker/jobs/groups.py)
                enqueue(partition, system_id, text(delivery_id))
                made += 1
    if made:
        client.hincrby(keys.METRICS_DELIVERIES, "queued", made)
    return made


job_id = attempts.job_id


def enqueue(partition: int, system_id: int, delivery_id: str) -> None:
    attempts.enqueue(deliver, (partition, system_id, delivery_id), delivery_id)


def reconcile(client: SyncRedis, partition: int, now_ms: int) -> int:
    """Enqueue again the deliveries whose job is gone or died (a crash between the notify script
    and the enqueue, or a job killed mid-way); returns how many."""
    stale: list[bytes] = client.zrangebyscore(  # type: ignore[assignment]
        keys.undelivered(partition), "-inf", now_ms - RECONCILE_AFTER_MS
    )
    again = 0
    grouped = groups.grouped_channels(channels(client)) if stale else {}
    for member in stale:
        system_id, delivery_id = keys.parse_undelivered_member(text(member))
        try:
            job = Job.fetch(job_id(delivery_id), connection=context.rq_connection())
            alive = job.get_status() not in (
                JobStatus.FAILED,
                JobStatus.STOPPED,
                JobStatus.CANCELED,
            )
        except NoSuchJobError:
            alive = False
        if not alive:
            log.warning("delivery %s had no live job; enqueued again", delivery_id)
            if not groups.route_to_group(client, partition, system_id, delivery_id, grouped):
                enqueue(partition, system_id, delivery_id)
            again += 1
    return again


def deliver(partition: int, system_id: int, delivery_id: str) -> str:
    """Send one delivery (an rq job). Raises on a failed attempt while attempts remain, so rq
    retries it after its interval; returns the final status otherwise."""
    s = context.settings()
    client = context.client()
    raw = client.hget(keys.deliveries(partition, system_id), delivery_id)
    if raw is None:
        _finish(client, partition, system_id, delivery_id)
        return "gone"
    record = orjson.loads(raw)
    if record["status"] in ("delivered", "failed"):
        _finish(client, partition, system_id, delivery_id)
        return str(record["status"])
    doc = client.hget(keys.CHANNELS, str(record["channel_id"]))
    if doc is None:
        record["last_error"] = "the channel was deleted"
        return _save(client, partition, record, "failed")
    if record["attempts"] >= s.notify_max_attempts:  # a job enqueued again after a crash
        return _save(client, partition, record, "failed")
    channel = Channel.model_validate_json(doc)
    notice = Notice(
        delivery_id=delivery_id,
        system_id=system_id,
        system_name=_system_name(client, system_id),
        before=record["from"],
        after=record["to"],
        reason=record.get("reason") or "",
        at=datetime.fromtimestamp(record["at_ms"] / 1000, UTC),
    )
    body = render(channel.kind, notice)
    return attempts.attempt(
        channel, body, delivery_id, record, lambda status: _save(client, partition, record, status)
    )


def _system_name(client: SyncRedis, system_id: int) -> str:
    doc = client.hget(keys.REGISTRY_SYSTEMS, str(system_id))
    return str(orjson.loads(doc)["name"]) if doc else f"system {system_id}"


def _save(client: SyncRedis, partition: int, record: dict[str, object], status: str) -> str:
    record["status"] = status
    record["updated_ms"] = context.now_ms()
    system_id, delivery_id = int(record["system_id"]), str(record["delivery_id"])  # type: ignore[call-overload]
    client.hset(keys.deliveries(partition, system_id), delivery_id, orjson.dumps(record))
    client.hincrby(keys.METRICS_DELIVERIES, status, 1)  # GET /metrics: deliveries by status
    if status in ("delivered", "failed"):
        _finish(client, partition, system_id, delivery_id)
    return status


def _finish(client: SyncRedis, partition: int, system_id: int, delivery_id: str) -> None:
    client.zrem(keys.undelivered(partition), keys.undelivered_member(system_id, delivery_id))
