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

# Partition epochs as JSON (shared/layout.py); beside the id sequence, which it is read with.
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
    """Hash holding one counter container (see shared/buckets.py)."""
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
