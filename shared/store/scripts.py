"""The Lua scripts of LSO's atomic operations (the files in shared/store/lua/) and their protocol.

Every script has here one function that builds its KEYS and ARGV in the order its Lua header
documents, and an IntEnum for the status it answers, so that no caller spells an ARGV offset or a
bare status number. The scripts themselves are registered by their callers
(`client.register_script(source(NAME))`), which run them on the connection or pipeline they hold.
"""

from collections.abc import Sequence
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Literal, NamedTuple

from shared.store import keys

REGISTER = "register"
APPLY = "apply"
DEAD_LETTER = "dead_letter"
INGEST = "ingest"
REPLAY = "replay"
LAYOUT = "layout"
TRANSITION = "transition"
NOTIFY = "notify"
FENCE = "fence"
START_RECORD = "start_record"
END_WAIT = "end_wait"
ENDS_DUE = "ends_due"
READ_HASHES = "read_hashes"
DUE_TAKE = "due_take"
DEPENDENCIES = "dependencies"
GROUP = "group"
DELIVERY_MARK = "delivery_mark"

Arg = bytes | str | int | float


@cache
def source(name: str) -> str:
    return resources.files("shared.store").joinpath("lua", f"{name}.lua").read_text()


class Call(NamedTuple):
    """The KEYS and ARGV of one script call."""

    keys: list[str]
    args: list[Arg]


# -- register.lua ----------------------------------------------------------------------------------


class RegisterStatus(IntEnum):
    EXISTED = 0  # the name was registered already: its system is returned
    CREATED = 1


def register(name: str, description: str | None, created_at: str) -> Call:
    return Call(
        [keys.REGISTRY_SEQ, keys.REGISTRY_BY_NAME, keys.REGISTRY_SYSTEMS],
        [name, description or "", created_at, "1" if description is not None else "0"],
    )


# -- ingest.lua ------------------------------------------------------------------------------------


class IngestStatus(IntEnum):
    FENCED = -3  # an API that lost the answer settled it as not appended (fence.lua)
    TOO_LATE = -2  # the store ran the call after its deadline; the value is how late (ms)
    SHED = -1  # the partition's backlog is at its limit; the value is the backlog
    RATE_LIMITED = 0  # the value is the ms until the system's token bucket is back to zero
    APPENDED = 1  # the value is the entry id
    APPENDED_BEFORE = 2  # this very call (same marker) had been appended already


def ingest(
    partition: int,
    system_id: int,
    entry: dict[bytes, bytes],
    events: int,
    rate_per_s: float,
    capacity: float,
    backlog_limit: int,
    deadline_ms: int = 0,
    token: str = "",
    marker_ms: int = 0,
) -> Call:
    """`deadline_ms`: the store's unix ms after which the call must not append (0: none);
    `token`: names the call's batch marker, kept `marker_ms` (0: no marker)."""
    fields: list[Arg] = [b for pair in entry.items() for b in pair]
    return Call(
        [
            keys.stream(partition),
            keys.partition_stats(partition),
            keys.rate_bucket(partition, system_id),
            keys.batch_marker(partition, system_id, token),
        ],
        [events, repr(rate_per_s), repr(capacity), backlog_limit, deadline_ms, marker_ms,
         *fields],
    )  # fmt: skip


class FenceStatus(IntEnum):
    NOT_APPENDED = 0  # and now it never will be
    APPENDED = 1


def fence(partition: int, system_id: int, token: str, marker_ms: int) -> Call:
    return Call([keys.batch_marker(partition, system_id, token)], [marker_ms])


# -- apply.lua (the plan itself is built by worker/plan.py) ----------------------------------------


class ApplyStatus(IntEnum):
    STALE = 0  # some entries were no longer pending (their 1-based positions follow); no write
    APPLIED = 1
    DUPLICATE_BATCH = 2  # the Idempotency-Key was seen before: acknowledged, nothing added
    SYSTEM_DELETED = 3  # the system's tombstone exists: acknowledged and dropped
    DUPLICATES = 4  # some event ids were applied before (their 1-based positions follow); no write


# ARGV of apply.lua before the entry ids: group, event count, raw cutoff ms, raw ttl ms, the
# Idempotency-Key marker's ttl s, batch guard key index, runs index key index, run retention s,
# the plan as JSON.
APPLY_FIXED_ARGS = 9


def apply_args(
    events: int,
    raw_cutoff_ms: int,
    raw_ttl_ms: int,
    dedupe_ttl_s: int,
    batch_guard: int,
    runs_index: int,
    run_retention_s: int,
    plan_json: bytes,
    tail: Sequence[Arg],
) -> list[Arg]:
    """ARGV of apply.lua: the fixed arguments, then `tail` (entry count, entry ids, raw rows)."""
    fixed: list[Arg] = [
        keys.GROUP, events, raw_cutoff_ms, raw_ttl_ms, dedupe_ttl_s, batch_guard, runs_index,
        run_retention_s, plan_json,
    ]  # fmt: skip
    assert len(fixed) == APPLY_FIXED_ARGS
    return [*fixed, *tail]


# -- dead_letter.lua and replay.lua ----------------------------------------------------------------


class DeadLetterStatus(IntEnum):
    ALREADY_ACKNOWLEDGED = 0  # acknowledged elsewhere meanwhile: nothing moved
    MOVED = 1


def dead_letter(
    partition: int, entry_id: str, events: int, maxlen: int, fields: Sequence[Arg]
) -> Call:
    return Call(
        [keys.stream(partition), keys.dead_letters(partition), keys.partition_stats(partition)],
        [keys.GROUP, entry_id, events, maxlen, *fields],
    )


def replay(partition: int, dead_letter_ids: Sequence[str]) -> Call:
    """Answers the number of entries re-queued."""
    return Call(
        [keys.dead_letters(partition), keys.stream(partition), keys.partition_stats(partition)],
        list(dead_letter_ids),
    )


# -- layout.lua ------------------------------------------------------------------------------------


def layout(mode: Literal["ensure", "set"], partitions: int) -> Call:
    """Answers [layout JSON, highest registered system id]."""
    return Call([keys.LAYOUT, keys.REGISTRY_SEQ], [mode, partitions])


# -- transition.lua and notify.lua -----------------------------------------------------------------


class TransitionStatus(IntEnum):
    UNCHANGED = 0
    CHANGED = 1  # the previous verdict follows ('' the first time)


class Evaluation(NamedTuple):
    """One system's evaluation: its verdict, and what it was judged on, recorded beside the
    verdict in `keys.verdicts` for GET /metrics: the policy's window (events 0: no figures) and
    the newest event's ts (0: none)."""

    system_id: int
    verdict: str
    reason: str
    events: int = 0
    error_ratio: float = 0.0
    p95_ms: float = 0.0
    last_event_ms: int = 0


def transition(
    partition: int, system_id: int, verdict: str, reason: str, at_ms: int, kept: int
) -> Call:
    """One system's evaluation without figures (see `transitions`)."""
    return transitions(partition, [Evaluation(system_id, verdict, reason)], at_ms, kept)


def transitions(partition: int, evaluated: Sequence[Evaluation], at_ms: int, kept: int) -> Call:
    """The evaluations of systems of one partition, all at `at_ms`; answers a (status, previous
    verdict) pair per system, flat."""
    call = Call([keys.outbox(partition), keys.verdicts(partition)], [at_ms, kept])
    for e in evaluated:
        call.keys.extend(
            (keys.verdict(partition, e.system_id), keys.transitions(partition, e.system_id))
        )
        # Six significant digits: the figures are for graphs, and the hash holds the fleet.
        call.args.extend((e.system_id, e.verdict, e.reason, e.events, f"{e.error_ratio:.6g}",
                          f"{e.p95_ms:.6g}", e.last_event_ms))  # fmt: skip
    return call


class NotifyStatus(IntEnum):
    NOT_TOLD = 0  # why follows: current, muted, flapping, upstream or releasing
    TOLD = 1  # the new delivery ids follow (none: no channel cares)


def notify(
    partition: int,
    system_id: int,
    now_ms: int,
    min_interval_ms: int,
    deliveries_kept: int,
    channels_json: str,
    held_by: str = "",
    release_after_ms: int = 60_000,
) -> Call:
    """`held_by`: why an upstream of the system fails ('' when none does)."""
    return Call(
        [
            keys.verdict(partition, system_id),
            keys.outbox(partition),
            keys.mute(partition, system_id),
            keys.deliveries(partition, system_id),
            keys.delivery_index(partition, system_id),
            keys.undelivered(partition),
        ],
        [
            system_id,
            now_ms,
            min_interval_ms,
            deliveries_kept,
            channels_json,
            held_by,
            release_after_ms,
        ],  # fmt: skip
    )


# -- group.lua and delivery_mark.lua (worker/jobs/groups.py) --------------------------------------


def _group_keys(channel_id: int) -> list[str]:
    return [
        keys.open_group(channel_id),
        keys.group_members(channel_id),
        keys.GROUPS_DUE,
        keys.GROUP_JOINED,
        keys.GROUP_SEQ,
        keys.GROUP_DELIVERIES,
        keys.GROUP_DELIVERY_INDEX,
        keys.GROUPS_UNDELIVERED,
    ]


def group_join(
    channel_id: int,
    now_ms: int,
    kept: int,
    max_members: int,
    member_id: str,
    member_json: bytes,
    at_ms: int,
    window_ms: int,
) -> Call:
    """Answers [the member's group id, the id of a group closed because it became full or '']."""
    return Call(
        _group_keys(channel_id),
        ["join", channel_id, now_ms, kept, max_members, member_id, member_json, at_ms, window_ms],
    )


def group_close(channel_id: int, now_ms: int, kept: int) -> Call:
    """Answers the id of the group closed into a delivery, or '' (none open, or not due)."""
    return Call(_group_keys(channel_id), ["close", channel_id, now_ms, kept, 0])


def delivery_mark(
    partition: int,
    system_id: int,
    delivery_id: str,
    group_id: str,
    status: str,
    attempts: int,
    last_error: str | None,
    now_ms: int,
    only_if_queued: bool,
) -> Call:
    """Answers 1 when the system's delivery was updated, 0 when gone or no longer queued."""
    return Call(
        [keys.deliveries(partition, system_id), keys.undelivered(partition)],
        [delivery_id, keys.undelivered_member(system_id, delivery_id), group_id, status,
         attempts, last_error or "", now_ms, "1" if only_if_queued else "0"],
    )  # fmt: skip


# -- start_record.lua, end_wait.lua and ends_due.lua (shared/services/run_starts.py) ---------------


def start_record(
    partition: int, system_id: int, pair_id: str, start: str, ts_ms: int, ttl_s: int
) -> Call:
    """Answers the value of the end waiting for this start, or None."""
    field = keys.WAITING_END_FORMAT.format(system_id=system_id, pair_id=pair_id)
    return Call(
        [keys.run_starts(partition, system_id), keys.ends_waiting(partition)],
        [pair_id, start, ts_ms, ttl_s, field],
    )


def end_wait(partition: int, system_id: int, pair_id: str, value: bytes, due_ms: int) -> Call:
    """Answers the start's value when it is known, else None (the end now waits)."""
    field = keys.WAITING_END_FORMAT.format(system_id=system_id, pair_id=pair_id)
    return Call(
        [keys.run_starts(partition, system_id), keys.ends_waiting(partition),
         keys.ends_waiting_due(partition)],
        [pair_id, field, value, due_ms],
    )  # fmt: skip


def ends_due(partition: int, now_ms: int, lease_ms: int, limit: int) -> Call:
    """Answers the fields of `ends_waiting` taken."""
    return Call([keys.ends_waiting_due(partition)], [now_ms, lease_ms, limit])


# -- read_hashes.lua -------------------------------------------------------------------------------


def read_hashes(whole: Sequence[str], partly: Sequence[str], fields: Sequence[str]) -> Call:
    """HGETALL of each of `whole`, then HMGET `fields` of each of `partly` (one partition's)."""
    return Call([*whole, *partly], [len(whole), *fields])


# -- due_take.lua ----------------------------------------------------------------------------------


def due_take(partition: int, now_ms: int, limit: int) -> Call:
    """Answers the members of `keys.due` taken (due at or before `now_ms`, at most `limit`)."""
    return Call([keys.due(partition)], [now_ms, limit])


# -- dependencies.lua (shared/services/dependencies.py) --------------------------------------------


class DependenciesStatus(IntEnum):
    DONE = 0  # 'drop': the former direct downstreams follow
    UNKNOWN_SYSTEM = 1
    UNKNOWN_UPSTREAM = 2  # its id follows
    CYCLE = 3  # the ids of the cycle follow, from the system back to itself


def dependencies_set(system_id: int, upstream_ids: Sequence[int]) -> Call:
    return Call(
        [keys.DEPENDS_ON, keys.DEPENDENTS, keys.GRAPH_VERSION, keys.REGISTRY_SYSTEMS],
        ["set", system_id, "[" + ",".join(str(int(u)) for u in upstream_ids) + "]"],
    )


def dependencies_drop(system_id: int) -> Call:
    return Call(
        [keys.DEPENDS_ON, keys.DEPENDENTS, keys.GRAPH_VERSION, keys.REGISTRY_SYSTEMS],
        ["drop", system_id, "[]"],
    )
