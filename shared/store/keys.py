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


def dedupe(partition: int, system_id: int, event_id: str) -> str:
    return f"{_tag(partition)}:eid:{system_id}:{event_id}"


def idempotency(partition: int, system_id: int, key: str) -> str:
    """Marker of a batch applied under a client's `Idempotency-Key`."""
    return f"{_tag(partition)}:idem:{system_id}:{key}"


def rate_bucket(partition: int, system_id: int) -> str:
    """Token bucket of the system's ingest rate limit."""
    return f"{_tag(partition)}:rate:{system_id}"


def runs(partition: int, system_id: int) -> str:
    """Index of the system's recent runs: run_id scored by its newest event (ms)."""
    return f"{_tag(partition)}:runs:{system_id}"


def run(partition: int, system_id: int, run_id: str) -> str:
    """Summary of one run (events, errors, first/last ts, newest event, stages)."""
    return f"{_tag(partition)}:run:{system_id}:{run_id}"


def auth_failures(address: str) -> str:
    """Failed authentications of one client address in the current minute."""
    return f"{PREFIX}:authfail:{address}"


# -- health transitions and notifications (worker/jobs/) -------------------------------------------

CHANNELS = f"{PREFIX}:{{reg}}:channels"  # channel id -> channel JSON (system_id null: global)
CHANNEL_SEQ = f"{PREFIX}:{{reg}}:channel_seq"

# rq's own keys (RQ_KEY_PREFIX): one hash tag, so all of rq lives in one slot of a cluster.
RQ_PREFIX = f"{PREFIX}:{{jobs}}:rq"


def tick(job: str, period: int) -> str:
    """Marker that the periodic `job` of `period` (its start, in its own units) was enqueued."""
    return f"{PREFIX}:{{jobs}}:tick:{job}:{period}"


def verdict(partition: int, system_id: int) -> str:
    """Hash: the last evaluated verdict (`verdict`, `reason`, `since_ms`, `evaluated_ms`) and the
    last one notified (`notified`, `notified_ms`)."""
    return f"{_tag(partition)}:verdict:{system_id}"


def transitions(partition: int, system_id: int) -> str:
    """Stream of verdict changes (`from`, `to`, `reason`, `at`), newest kept."""
    return f"{_tag(partition)}:transitions:{system_id}"


def outbox(partition: int) -> str:
    """Sorted set: systems whose notified verdict may be behind, scored by when to look (ms)."""
    return f"{_tag(partition)}:outbox"


def dirty(partition: int) -> str:
    """Sorted set: systems with newly applied events since their last evaluation (ms)."""
    return f"{_tag(partition)}:dirty"


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


def system_pattern(partition: int, system_id: int) -> list[str]:
    """SCAN patterns matching every key of one system's data (the purge)."""
    tag = _tag(partition)
    kinds = ("c", "eid", "idem", "run")
    return [f"{tag}:{kind}:{system_id}:*" for kind in kinds]
