"""Every Redis key name LSO uses, in one place (docs/architecture.md describes each one).

Keys written together by one atomic script share a hash tag, so the same scripts run unchanged on a
Redis Cluster: `{reg}` for the system registry, `{pN}` for everything of partition N (its stream,
dead-letter stream, stats, and all data of the systems that live in it).
"""

PREFIX = "lso"
GROUP = "lso-workers"

REGISTRY_SEQ = f"{PREFIX}:{{reg}}:seq"
REGISTRY_BY_NAME = f"{PREFIX}:{{reg}}:by_name"
REGISTRY_SYSTEMS = f"{PREFIX}:{{reg}}:systems"
REGISTRY_RATE_LIMITS = f"{PREFIX}:{{reg}}:rate_limits"
REGISTRY_POLICIES = f"{PREFIX}:{{reg}}:policies"
# Bumped by every change of what processes cache of systems (a policy, a rate limit, a deletion),
# which they check once a second (shared/services/registry.py).
REGISTRY_GENERATION = f"{PREFIX}:{{reg}}:generation"
# The dependency graph (shared/services/dependencies.py): system id -> JSON list of the ids it
# depends on (its direct upstreams), the reverse (its direct downstreams), and a counter bumped by
# every change of either, by which processes know their copy of the graph is current.
DEPENDS_ON = f"{PREFIX}:{{reg}}:depends_on"
DEPENDENTS = f"{PREFIX}:{{reg}}:dependents"
GRAPH_VERSION = f"{PREFIX}:{{reg}}:graph_version"
API_KEYS = f"{PREFIX}:{{reg}}:api_keys"  # key id -> key metadata JSON (never the token)
API_KEY_HASHES = f"{PREFIX}:{{reg}}:api_key_hashes"  # SHA-256 of a live token -> key id

# Partition epochs as JSON (shared/store/layout.py); beside the id sequence, which it is read with.
LAYOUT = f"{PREFIX}:{{reg}}:layout"

WORKERS = f"{PREFIX}:workers"


def partition_of(system_id: int, partitions: int) -> int:
    return system_id % partitions


def _tag(partition: int) -> str:
    return f"{PREFIX}:{{p{partition}}}"


def stream(partition: int) -> str:
    return f"{_tag(partition)}:stream"


def partition_of_stream(name: str) -> int:
    """The partition whose `stream(partition)` is `name`."""
    head, tail = f"{PREFIX}:{{p", "}:stream"
    return int(name.removeprefix(head).removesuffix(tail))


def dead_letters(partition: int) -> str:
    return f"{_tag(partition)}:dead"


def partition_stats(partition: int) -> str:
    """Hash with `events_in` (appended by the API) and `events_out` (applied or dead-lettered)."""
    return f"{_tag(partition)}:stats"


def raw_events(partition: int, system_id: int) -> str:
    return f"{_tag(partition)}:raw:{system_id}"


def system_meta(partition: int, system_id: int) -> str:
    return f"{_tag(partition)}:meta:{system_id}"


def counters(partition: int, system_id: int, container_s: int, container_start_s: int) -> str:
    """Hash holding one counter container (see shared/model/time_slots.py)."""
    return f"{_tag(partition)}:c:{system_id}:{container_s}:{container_start_s}"


def dedupe(partition: int, system_id: int, bucket: int) -> str:
    """Set of the event ids applied in one bucket of apply time (worker/plan.py:
    `dedupe_buckets`); it expires `LSO_DEDUPE_TTL_S` after the bucket ends."""
    return f"{_tag(partition)}:eid:{system_id}:{bucket}"


def idempotency(partition: int, system_id: int, key: str) -> str:
    """Marker of a batch applied under a client's `Idempotency-Key`."""
    return f"{_tag(partition)}:idem:{system_id}:{key}"


def batch_marker(partition: int, system_id: int, token: str) -> str:
    """Marker of one ingest call (`a` appended, `f` fenced): settles a call whose answer was lost.
    Named by a random token per call; it lives seconds, then expires."""
    return f"{_tag(partition)}:batch:{system_id}:{token}"


def rate_bucket(partition: int, system_id: int) -> str:
    """Token bucket of the system's ingest rate limit."""
    return f"{_tag(partition)}:rate:{system_id}"


def runs(partition: int, system_id: int) -> str:
    """Index of the system's recent runs: run_id scored by its newest event (ms)."""
    return f"{_tag(partition)}:runs:{system_id}"


def run(partition: int, system_id: int, run_id: str) -> str:
    """Summary of one run (events, errors, first/last ts, newest event, stages)."""
    return f"{_tag(partition)}:run:{system_id}:{run_id}"


def run_starts(partition: int, system_id: int) -> str:
    """Starts reported by the adapters (ping URLs, OpenLineage), so that an end can be given its
    duration at ingest: field = the start's pairing id, value = `RUN_START_FORMAT`. Expires
    `counter_retention_s` after its last write."""
    return f"{_tag(partition)}:starts:{system_id}"


RUN_START_FORMAT = "{ts_ms} {run_id}"  # a start's ts and the LSO run id it opened


def ends_waiting(partition: int) -> str:
    """Hash: ends reported before their start (OpenLineage), waiting for it so that they are
    counted with their duration: field = `WAITING_END_FORMAT`, value = JSON `{"row": the counted
    end's compact row, "end_ms": its time}`. Each leaves once counted: by its start's report,
    or by the jobs' sweep LSO_RUN_START_WAIT_S after it came, with latency 0
    (worker/jobs/late_ends.py)."""
    return f"{_tag(partition)}:ends_waiting"


def ends_waiting_due(partition: int) -> str:
    """Sorted set: the fields of `ends_waiting`, scored by when the sweep counts them (ms); a
    sweep pushes the score of what it takes on by a lease, so one that dies leaves it to the
    next."""
    return f"{_tag(partition)}:ends_waiting_due"


WAITING_END_FORMAT = "{system_id} {pair_id}"  # the system id, then the start's pairing id


def auth_failures(address: str) -> str:
    """Failed authentications of one client address in the current minute."""
    return f"{PREFIX}:authfail:{address}"


# -- health transitions and notifications (worker/jobs/) -------------------------------------------

CHANNELS = f"{PREFIX}:{{reg}}:channels"  # channel id -> channel JSON (system_id null: global)
CHANNEL_SEQ = f"{PREFIX}:{{reg}}:channel_seq"

# Grouped notifications (worker/jobs/groups.py): a channel with `group_window_s` gathers the
# transitions reaching it into one delivery. A global channel's group spans every partition, so
# all of its state lives in the registry's slot, and one script (group.lua) joins, closes and
# indexes a group atomically, never touching a partition's keys.
GROUP_SEQ = f"{PREFIX}:{{reg}}:group_seq"  # the number of the last group opened (ids `g<n>`)
GROUPS_DUE = f"{PREFIX}:{{reg}}:groups_due"  # zset channel id -> when its open group closes (ms)
# Hash: member (a system's delivery id) -> the id of the group it joined, until that group's
# delivery is final; a member routed twice (a crash, the sweep) joins nothing twice.
GROUP_JOINED = f"{PREFIX}:{{reg}}:group_joined"
GROUP_DELIVERIES = f"{PREFIX}:{{reg}}:group_deliveries"  # group id -> grouped delivery JSON
GROUP_DELIVERY_INDEX = f"{PREFIX}:{{reg}}:group_delivery_index"  # zset group id -> created ms
GROUPS_UNDELIVERED = f"{PREFIX}:{{reg}}:groups_undelivered"  # zset group id -> created ms


def open_group(channel_id: int) -> str:
    """Hash `group_id`, `opened_ms`, `due_ms`: the channel's group gathering transitions now."""
    return f"{PREFIX}:{{reg}}:group:{channel_id}"


def group_members(channel_id: int) -> str:
    """Hash: member (a system's delivery id) -> member JSON, of the channel's open group."""
    return f"{PREFIX}:{{reg}}:group_members:{channel_id}"


# rq's own keys (RQ_KEY_PREFIX): one hash tag, so all of rq lives in one slot of a cluster.
RQ_PREFIX = f"{PREFIX}:{{jobs}}:rq"


def tick(job: str, period: int) -> str:
    """Marker that the periodic `job` of `period` (its start, in its own units) was enqueued."""
    return f"{PREFIX}:{{jobs}}:tick:{job}:{period}"


def verdict(partition: int, system_id: int) -> str:
    """Hash: the last evaluated verdict (`verdict`, `reason`, `since_ms`, `evaluated_ms`) and the
    last one notified (`notified`, `notified_ms`)."""
    return f"{_tag(partition)}:verdict:{system_id}"


def verdicts(partition: int) -> str:
    """Hash: every system's last evaluated verdict in one place, so that the fleet overview reads
    a partition in one round trip: field = system id, value = JSON `[verdict, reason, since_ms,
    evaluated_ms, events, error_ratio, p95_ms, last_event_ms]` (what it was judged on, for GET
    /metrics; the first four alone when all of that is zero), written with `verdict` by
    transition.lua; the purge removes a field."""
    return f"{_tag(partition)}:verdicts"


def public_badges(partition: int) -> str:
    """Hash: the systems of the partition whose health badge is public (field = system id, value
    `1`; no field: private). Beside the verdicts, so that a badge is one slot's read; the purge
    removes the field (`system_fields`)."""
    return f"{_tag(partition)}:badges"


def transitions(partition: int, system_id: int) -> str:
    """Stream of verdict changes (`from`, `to`, `reason`, `at`), newest kept."""
    return f"{_tag(partition)}:transitions:{system_id}"


def outbox(partition: int) -> str:
    """Sorted set: systems whose notified verdict may be behind, scored by when to look (ms)."""
    return f"{_tag(partition)}:outbox"


def dirty(partition: int) -> str:
    """Sorted set: systems with newly applied events since their last evaluation (ms)."""
    return f"{_tag(partition)}:dirty"


def due(partition: int) -> str:
    """Sorted set: systems whose verdict changes with time alone, scored by when (ms): a policy
    with `expected_interval_seconds` falls silent at its last event + interval + grace. The
    evaluator writes each system's next due time after evaluating it; every evaluation pass
    takes what is due, so silence costs O(systems due), not a sweep of the fleet."""
    return f"{_tag(partition)}:due"


def deliveries(partition: int, system_id: int) -> str:
    """Hash: delivery id -> delivery JSON (one notification to one channel, and its attempts)."""
    return f"{_tag(partition)}:deliveries:{system_id}"


def delivery_index(partition: int, system_id: int) -> str:
    """Sorted set: delivery id -> created ms (newest kept)."""
    return f"{_tag(partition)}:delivery_index:{system_id}"


def undelivered(partition: int) -> str:
    """Sorted set: `<system id>:<delivery id>` of deliveries not final, scored by creation ms."""
    return f"{_tag(partition)}:undelivered"


def mute(partition: int, system_id: int) -> str:
    """String: muted until this ms (the key expires then)."""
    return f"{_tag(partition)}:mute:{system_id}"


def deleted(partition: int, system_id: int) -> str:
    """Tombstone of a deleted system: its late stream entries are dropped, not applied."""
    return f"{_tag(partition)}:deleted:{system_id}"


def system_keys(partition: int, system_id: int) -> list[str]:
    """Every key of one system's data that has a fixed name (see `system_patterns` for the rest).
    The purge deletes these; `deleted` (the tombstone) is not among them: it must outlive the data.
    """
    return [
        raw_events(partition, system_id),
        system_meta(partition, system_id),
        runs(partition, system_id),
        run_starts(partition, system_id),
        rate_bucket(partition, system_id),
        verdict(partition, system_id),
        transitions(partition, system_id),
        deliveries(partition, system_id),
        delivery_index(partition, system_id),
        mute(partition, system_id),
    ]


def system_patterns(partition: int, system_id: int) -> list[str]:
    """SCAN patterns matching every key of one system's data whose name has a variable part
    (counter containers, dedupe and Idempotency-Key markers, run summaries, batch markers)."""
    tag = _tag(partition)
    kinds = ("c", "eid", "idem", "run", "batch")
    return [f"{tag}:{kind}:{system_id}:*" for kind in kinds]


def system_fields(partition: int) -> list[str]:
    """Hashes of the partition whose fields are system ids (the purge removes its field)."""
    return [verdicts(partition), public_badges(partition)]


def system_members(partition: int) -> list[str]:
    """Sorted sets of the partition whose members are system ids (the purge removes its id)."""
    return [outbox(partition), dirty(partition), due(partition)]


# -- metrics (GET /metrics) ------------------------------------------------------------------------
# What exists only per process is summed here, so that a scrape of any API process shows the whole
# deployment: each API process tallies requests and rejections in memory and adds its tally once a
# second (shared/services/tally.py); the jobs add each delivery's outcome as it is recorded. One
# hash tag, so that a flush is one pipeline to one node. Fields are bounded: routes are templates,
# statuses and reasons are few.

METRICS_REQUESTS = f"{PREFIX}:{{metrics}}:requests"  # REQUEST_FIELD -> requests answered
# LATENCY_FIELD -> requests answered within that bucket (not cumulative), LATENCY_SUM_FIELD -> µs
METRICS_LATENCY = f"{PREFIX}:{{metrics}}:latency"
METRICS_REJECTED = f"{PREFIX}:{{metrics}}:rejected"  # REJECTED_FIELD -> batches or events refused
METRICS_DELIVERIES = f"{PREFIX}:{{metrics}}:deliveries"  # a delivery status -> deliveries

REQUEST_FIELD = "{method} {route} {status}"
LATENCY_FIELD = "{method} {route} {bucket}"  # bucket: its index in the tally's bounds
LATENCY_SUM_FIELD = "{method} {route} sum_us"
REJECTED_FIELD = "{reason} {unit}"  # unit: "batches", or "events" (when the batch was read)


# -- hash fields, stream entry fields and member formats -------------------------------------------
# The Lua scripts spell these same names; tests/shared/store/test_keys.py fails on any quoted name
# in shared/store/lua/ that is not listed here.


class Meta:
    """Fields of `system_meta`."""

    VERSION = "v"  # the data version: bumped by every apply and policy change (health memo)
    LAST_TS = "last_ts"  # newest event ts (ms)
    LAST_ERROR_TS = "last_error_ts"  # newest error event ts (ms)
    LAST_ERROR = "last_error"  # newest error event's row, as JSON


class PartitionStats:
    """Fields of `partition_stats`."""

    EVENTS_IN = "events_in"  # appended by the API (ingest.lua, replay.lua)
    EVENTS_OUT = "events_out"  # applied or dead-lettered by the workers


class RateBucket:
    """Fields of `rate_bucket`."""

    TOKENS = "tokens"
    MS = "ms"  # server time of the last refill


class RunSummary:
    """Fields of `run`; per stage `STAGE_PREFIX + stage` counts its events."""

    EVENTS = "events"
    ERRORS = "errors"
    FIRST_MS = "first_ms"
    LAST_MS = "last_ms"
    LAST_ERROR = "last_error"  # "1" when the newest event of the run is an error
    LAST_TYPE = "last_type"  # event_type of the newest event (`run_end` ends the run)
    STAGE_PREFIX = "s:"


class VerdictState:
    """Fields of `verdict`."""

    VERDICT = "verdict"
    REASON = "reason"
    SINCE_MS = "since_ms"
    EVALUATED_MS = "evaluated_ms"
    NOTIFIED = "notified"
    NOTIFIED_MS = "notified_ms"  # when a channel was last told (starts the flapping interval)
    HELD_UNTIL_MS = "held_until_ms"  # a notification held back (flapping, upstream) goes out then
    HELD_BY = "held_by"  # why a notification is held back for a failing upstream


class OpenGroup:
    """Fields of `open_group`."""

    GROUP_ID = "group_id"
    OPENED_MS = "opened_ms"  # the first member's transition time
    DUE_MS = "due_ms"  # opened_ms + the channel's group_window_s


class TransitionEntry:
    """Fields of an entry of `transitions`."""

    FROM = "from"  # "" the first time
    TO = "to"
    REASON = "reason"
    AT = "at"  # ms


class BatchEntry:
    """Fields of an ingest stream entry (shared/model/codec.py)."""

    VERSION = b"v"
    SYSTEM_ID = b"s"
    EVENTS = b"n"  # the number of events
    ROWS = b"e"  # the rows as a JSON array
    IDEMPOTENCY_KEY = b"k"


class DeadLetterEntry:
    """Fields of an entry of `dead_letters`: these, then the original entry's fields each behind
    ORIGINAL_PREFIX."""

    STREAM_ID = "stream_id"
    ERROR = "error"
    DELIVERIES = "deliveries"
    ORIGINAL_PREFIX = "f:"


# Fields of a counter container (shared/model/time_slots.py formats them as
# `<slot>:<field>[:<stage>]`): the event count, the error count, and the latency histogram, a
# MessagePack map {bucket: count} (shared/model/sketch.py names the buckets).
COUNT_FIELD = "n"
ERRORS_FIELD = "e"
HISTOGRAM_FIELD = "h"


DELIVERY_ID_FORMAT = "{system_id}-{since_ms}-{channel_id}"  # notify.lua builds the same


def delivery_channel(delivery_id: str) -> int:
    """The channel of a system's delivery, from its id (`DELIVERY_ID_FORMAT`)."""
    return int(delivery_id.rsplit("-", 1)[1])


def undelivered_member(system_id: int, delivery_id: str) -> str:
    """Member of `undelivered` (notify.lua writes the same form)."""
    return f"{system_id}:{delivery_id}"


def parse_undelivered_member(member: str) -> tuple[int, str]:
    system_id, _, delivery_id = member.partition(":")
    return int(system_id), delivery_id
