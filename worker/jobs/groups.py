"""Grouped notifications: a channel with `group_window_s` tells the transitions reaching it
within that window as one delivery (docs/notifications.md, "Grouping").

The path of one transition to a grouped channel:
1. notify.lua creates the system's own delivery, as for any channel (status `queued`, in the
   partition's undelivered set), atomically with moving its `notified` verdict;
2. `route_to_group` adds it to the channel's open group (group.lua; the first member opens the
   group, due `group_window_s` after its transition), then marks the system's delivery `grouped`
   with the group's id and takes it off the partition's undelivered set (delivery_mark.lua);
3. `flush` (a periodic job, every second) closes each due group into one grouped delivery
   (group.lua again: the group leaves and its delivery appears in one step) and enqueues
   `deliver_group`, which sends it like a single delivery (worker/jobs/attempts.py) and records
   each attempt's outcome on the grouped delivery and on every member's own delivery.

A crash between the steps loses nothing and repeats nothing: a delivery left `queued` in the
undelivered set is routed again by the sweep (notify.reconcile), and `group_joined` says which
group it joined already; a grouped delivery not final is enqueued again by `reconcile`. The
group's state lives in the registry's slot and each member's in its own partition, and no script
touches both: on a cluster a global channel's group spans every partition.
"""

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from shared.model.channels import Channel
from shared.store import keys, scripts
from shared.store.client import SyncRedis, text
from worker.jobs import attempts, context
from worker.jobs.bodies import Notice
from worker.jobs.group_bodies import GroupNotice, render_group

log = logging.getLogger("lso.jobs")

GROUPS_KEPT = 1000  # grouped deliveries kept (all channels)
MAX_MEMBERS = 500  # a group this full goes out at once; the next transition opens another
RECONCILE_AFTER_MS = 60_000
DEAD = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def grouped_channels(every: list[Channel]) -> dict[int, Channel]:
    """The channels that group their transitions, by id."""
    return {c.channel_id: c for c in every if c.group_window_s is not None}


def route_to_group(
    client: SyncRedis,
    partition: int,
    system_id: int,
    delivery_id: str,
    grouped: dict[int, Channel],
) -> bool:
    """Add a system's new delivery to its channel's group, if that channel groups (else False:
    the caller sends it on its own). Safe to call again for the same delivery."""
    channel = grouped.get(keys.delivery_channel(delivery_id))
    if channel is None or channel.group_window_s is None:
        return False
    raw = client.hget(keys.deliveries(partition, system_id), delivery_id)
    now_ms = context.now_ms()
    if raw is None:  # purged with its system, or trimmed: nothing left to tell
        client.zrem(keys.undelivered(partition), keys.undelivered_member(system_id, delivery_id))
        return True
    record = orjson.loads(raw)
    member = {"partition": partition, "system_id": system_id, "delivery_id": delivery_id,
              "from": record["from"], "to": record["to"], "reason": record.get("reason"),
              "at_ms": record["at_ms"]}  # fmt: skip
    join = client.register_script(scripts.source(scripts.GROUP))
    call = scripts.group_join(channel.channel_id, now_ms, GROUPS_KEPT, MAX_MEMBERS, delivery_id,
                              orjson.dumps(member), int(record["at_ms"]),
                              channel.group_window_s * 1000)  # fmt: skip
    group_id, closed = (text(r) for r in join(keys=call.keys, args=call.args))
    mark = client.register_script(scripts.source(scripts.DELIVERY_MARK))
    call = scripts.delivery_mark(partition, system_id, delivery_id, group_id, "grouped", 0, None,
                                 now_ms, only_if_queued=True)  # fmt: skip
    mark(keys=call.keys, args=call.args)
    if closed:  # the group became full
        _enqueue(closed)
        client.hincrby(keys.METRICS_DELIVERIES, "queued", 1)
    return True


def flush() -> dict[str, int]:
    """Close every group whose window has ended into its delivery and enqueue it (an rq job,
    every second); running it twice closes nothing twice."""
    client = context.client()
    now_ms = context.now_ms()
    due: list[bytes] = client.zrangebyscore(keys.GROUPS_DUE, "-inf", now_ms)  # type: ignore[assignment]
    close = client.register_script(scripts.source(scripts.GROUP))
    closed = 0
    for channel_id in due:
        call = scripts.group_close(int(channel_id), now_ms, GROUPS_KEPT)
        group_id = text(close(keys=call.keys, args=call.args))
        if group_id:
            _enqueue(group_id)
            closed += 1
    if closed:
        client.hincrby(keys.METRICS_DELIVERIES, "queued", closed)
    return {"closed": closed}


def _enqueue(group_id: str) -> None:
    attempts.enqueue(deliver_group, (group_id,), group_id)


def reconcile(client: SyncRedis, now_ms: int) -> int:
    """Enqueue again the grouped deliveries whose job is gone or died (a crash between closing
    the group and the enqueue); returns how many. The sweep runs it."""
    stale: list[bytes] = client.zrangebyscore(  # type: ignore[assignment]
        keys.GROUPS_UNDELIVERED, "-inf", now_ms - RECONCILE_AFTER_MS
    )
    again = 0
    for raw in stale:
        group_id = text(raw)
        try:
            job = Job.fetch(attempts.job_id(group_id), connection=context.rq_connection())
            alive = job.get_status() not in DEAD
        except NoSuchJobError:
            alive = False
        if not alive:
            log.warning("grouped delivery %s had no live job; enqueued again", group_id)
            _enqueue(group_id)
            again += 1
    return again


def deliver_group(group_id: str) -> str:
    """Send one grouped delivery (an rq job), as `notify.deliver` sends a single one."""
    s = context.settings()
    client = context.client()
    raw = client.hget(keys.GROUP_DELIVERIES, group_id)
    if raw is None:
        client.zrem(keys.GROUPS_UNDELIVERED, group_id)
        return "gone"
    record = orjson.loads(raw)
    if not isinstance(record["members"], list):  # cjson writes an empty array as {}
        record["members"] = []
    if record["status"] in ("delivered", "failed"):
        _finish(client, record)
        return str(record["status"])
    doc = client.hget(keys.CHANNELS, str(record["channel_id"]))
    if doc is None:
        record["last_error"] = "the channel was deleted"
        return _save(client, record, "failed")
    if record["attempts"] >= s.notify_max_attempts:  # a job enqueued again after a crash
        return _save(client, record, "failed")
    channel = Channel.model_validate_json(doc)
    told = notice(client, record)
    if not told.members:
        record["last_error"] = "every system of the group was deleted"
        return _save(client, record, "failed")
    body = render_group(channel.kind, told)
    return attempts.attempt(
        channel, body, group_id, record, lambda status: _save(client, record, status)
    )


def notice(client: SyncRedis, record: dict[str, Any]) -> GroupNotice:
    """The grouped delivery as told: its members oldest first, with their systems' names; the
    members of systems deleted since are left out (a single delivery of one is not sent)."""
    members = sorted(record["members"], key=lambda m: (m["at_ms"], m["system_id"]))
    ids = sorted({str(m["system_id"]) for m in members})
    docs = client.hmget(keys.REGISTRY_SYSTEMS, ids) if ids else []
    names = {i: str(orjson.loads(d)["name"]) for i, d in zip(ids, docs, strict=True) if d}
    return GroupNotice(
        delivery_id=str(record["delivery_id"]),
        channel_id=int(record["channel_id"]),
        opened_at=_moment(record["opened_ms"]),
        members=[
            Notice(
                delivery_id=str(m["delivery_id"]),
                system_id=int(m["system_id"]),
                system_name=names[str(m["system_id"])],
                before=str(m["from"]),
                after=str(m["to"]),
                reason=str(m.get("reason") or ""),
                at=_moment(m["at_ms"]),
            )
            for m in members
            if str(m["system_id"]) in names
        ],
    )


def _moment(ms: float) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def _save(client: SyncRedis, record: dict[str, Any], status: str) -> str:
    """Record the outcome on every member's own delivery first, then on the grouped delivery
    (counted once in GET /metrics): a crash between the two sends it again, never loses it."""
    now_ms = context.now_ms()
    record["status"] = status
    record["updated_ms"] = now_ms
    mark = client.register_script(scripts.source(scripts.DELIVERY_MARK))
    for m in record["members"]:
        call = scripts.delivery_mark(int(m["partition"]), int(m["system_id"]),
                                     str(m["delivery_id"]), str(record["delivery_id"]), status,
                                     int(record["attempts"]), record.get("last_error"), now_ms,
                                     only_if_queued=False)  # fmt: skip
        mark(keys=call.keys, args=call.args)
    client.hset(keys.GROUP_DELIVERIES, str(record["delivery_id"]), orjson.dumps(record))
    client.hincrby(keys.METRICS_DELIVERIES, status, 1)  # GET /metrics: deliveries by status
    if status in ("delivered", "failed"):
        _finish(client, record)
    return status


def _finish(client: SyncRedis, record: dict[str, Any]) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.zrem(keys.GROUPS_UNDELIVERED, str(record["delivery_id"]))
    members = [str(m["delivery_id"]) for m in record["members"]]
    if members:
        pipe.hdel(keys.GROUP_JOINED, *members)
    pipe.execute()
