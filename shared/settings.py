"""The one configuration object of LSO: every field is read from an `LSO_`-prefixed variable.

docs/configuration.md is generated from this class (`python -m lso.config_doc`) and checked
against it by a test.
"""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LSO_", frozen=True, extra="ignore")

    redis_url: str = Field(
        DEFAULT_REDIS_URL,
        description="Redis/Valkey server. `lso up` starts an embedded Valkey when this is unset.",
    )
    redis_timeout_ms: int = Field(
        2000, ge=50, le=60_000, description="Longest wait for one Redis call in the API."
    )
    ingest_deadline_ms: int | None = Field(
        None,
        ge=10,
        description="The store appends a batch only if it runs the append within this long of the "
        "request, by its own clock (default: half of LSO_REDIS_TIMEOUT_MS; at most that), so that "
        "an API that stopped waiting (503) knows the batch was not appended and never will be.",
    )
    redis_cluster: bool = Field(
        False,
        description="LSO_REDIS_URL names one node of a Redis/Valkey Cluster (any node will do).",
    )
    partitions: int = Field(
        4,
        ge=1,
        le=1024,
        description="Ingest streams of a new deployment; change a live one with `lso partitions`.",
    )

    max_batch_events: int = Field(5000, ge=1, description="Most events in one POST.")
    max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest request body, compressed and decompressed."
    )
    max_payload_bytes: int = Field(8192, ge=0, description="Largest serialized `payload` object.")
    ingest_settle_ms: int = Field(
        5000,
        ge=0,
        description="How long the API keeps asking a store that stopped answering whether a batch "
        "it sent was appended, before it answers 503 saying the outcome is unknown.",
    )
    max_future_skew_s: int = Field(
        300, ge=0, description="How far in the future an event `ts` may lie."
    )
    rejected_cpu_ms_per_s: float = Field(
        50.0,
        gt=0,
        description="CPU one system's rejected batches may cost an API process per second; past "
        "it, the system's next requests wait for their turn before their body is read.",
    )
    max_event_age_s: int = Field(
        86_400,
        ge=60,
        description="How far in the past an event `ts` may lie (older events would be counted "
        "nowhere: 422). At most LSO_COUNTER_RETENTION_S.",
    )

    window_seconds: int = Field(
        300, ge=10, le=86_400, description="Default health window (`?window_seconds=` overrides)."
    )
    degraded_error_rate: float = Field(
        0.05, ge=0, le=1, description="Error rate at or above which health is DEGRADED."
    )
    unhealthy_error_rate: float = Field(
        0.5, ge=0, le=1, description="Error rate at or above which health is UNHEALTHY."
    )

    raw_retention_s: int = Field(
        3600, ge=60, description="How long raw events stay in the per-system sorted set."
    )
    counter_retention_s: int = Field(
        90_000,
        ge=86_400,
        description="How long time-bucketed counters are kept (at least the longest window).",
    )
    run_start_wait_s: int = Field(
        5,
        ge=1,
        le=3600,
        description="How long an OpenLineage end reported before its START waits for it before "
        "it is counted with latency 0 (jobs).",
    )
    dedupe_ttl_s: int = Field(
        86_400,
        ge=60,
        description="How long an `event_id` is remembered for de-duplication: at least this "
        "long after its apply, at most twice (ids are kept in sets per half of it).",
    )
    durable_ack: bool = Field(
        False,
        description="Answer 202 only after the store fsynced the batch to its AOF (WAITAOF).",
    )
    rate_limit_events_per_s: float = Field(
        0.0,
        ge=0,
        le=1e9,
        description="Default per-system ingest limit in events/s (0: none); 429 above it.",
    )
    rate_limit_burst_s: float = Field(
        2.0, gt=0, description="Seconds of the rate limit a system may send at once (bucket size)."
    )
    max_lag_events: int = Field(
        2_000_000,
        ge=1,
        description="Backlog (events not yet applied) at which ingest and /readyz answer 503.",
    )

    worker_block_ms: int = Field(
        1000, ge=10, le=30_000, description="How long one XREADGROUP waits for new entries."
    )
    worker_read_count: int = Field(
        64, ge=1, le=10_000, description="Stream entries (batches) read per XREADGROUP."
    )
    claim_idle_ms: int = Field(
        30_000, ge=100, description="Idle time after which another worker reclaims an entry."
    )
    max_deliveries: int = Field(
        5, ge=1, description="Deliveries after which an entry moves to the dead-letter stream."
    )
    dead_letter_maxlen: int = Field(
        100_000, ge=100, description="Approximate cap on each dead-letter stream."
    )
    trim_interval_s: float = Field(
        5.0, gt=0, description="How often a worker trims acknowledged stream entries."
    )
    heartbeat_ttl_s: int = Field(
        30, ge=2, description="A worker is considered dead after this long without a heartbeat."
    )
    shutdown_grace_s: float = Field(
        10.0, gt=0, description="Time a stopping worker has to finish the batch in hand."
    )

    auth: Literal["on", "off"] = Field(
        "on", description="API keys required (`off` only for trusted networks; logs a warning)."
    )
    admin_token: SecretStr | None = Field(
        None, description="Admin API key; unset: `lso up` creates one and prints it."
    )
    public_probes: bool = Field(
        True, description="`/livez`, `/readyz` and `...health?probe=1` answer without a key."
    )
    probe_rate_per_s: float = Field(
        500.0,
        gt=0,
        description="Health probes without a key answered per second per API process, all "
        "systems together; more wait for their turn (never a 503), so a probe flood cannot crowd "
        "out ingest. Probes with a key are not paced.",
    )
    auth_failures_per_min: int = Field(
        20, ge=1, description="Failed authentications per client address per minute, then 429."
    )
    metrics_public: bool = Field(
        False,
        description="`GET /metrics` answers without a key, every series included (else an admin "
        "key, or a read key for its own systems' series).",
    )
    metrics_per_system: bool = Field(
        True,
        description="`GET /metrics` includes the per-system series (7 a system: the verdict as "
        "4, error ratio, p95, last event age); off for very large fleets.",
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins allowed by CORS (empty: CORS off)."
    )

    evaluate_interval_s: float = Field(
        1.0, gt=0, le=60, description="How often systems with new events are evaluated (jobs)."
    )
    sweep_interval_s: int = Field(
        15,
        ge=1,
        description="How often the jobs' sweep runs: it evaluates the systems not evaluated for "
        "LSO_REEVALUATE_AFTER_S, and hands on notifications and deliveries left behind.",
    )
    reevaluate_after_s: int = Field(
        300,
        ge=1,
        le=86_400,
        description="Every system is evaluated at least this often, whatever its due times "
        "(the sweep's safety net; changes by time alone have due times of their own).",
    )
    notify_min_interval_s: int = Field(
        120, ge=0, description="Least time between two notifications of one system (flapping)."
    )
    notify_max_attempts: int = Field(
        6, ge=1, le=20, description="Delivery attempts of a notification before it fails."
    )
    notify_retry_base_s: int = Field(
        2, ge=1, description="First retry delay of a notification; doubled each retry."
    )
    webhook_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Time limit of one notification request."
    )
    allow_private_webhooks: bool = Field(
        False, description="Let channels send to loopback and private addresses (SSRF guard off)."
    )
    retention_interval_s: int = Field(
        300, ge=1, description="How often the retention job trims old data (jobs)."
    )

    http_header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Time a client has to send a request's headers, from their first byte.",
    )
    http_body_timeout_s: float = Field(
        30.0, gt=0, description="Longest pause between two chunks of a request body."
    )
    http_max_header_bytes: int = Field(
        65_536, ge=4096, description="Largest request line plus headers (431 above it)."
    )
    http_max_connections: int = Field(
        4096, ge=1, description="Open connections per API process; more get 503 with Retry-After."
    )
    max_concurrent_requests: int = Field(
        512,
        ge=1,
        description="Requests one API process works on at once; more wait up to "
        "LSO_REDIS_TIMEOUT_MS for a turn, then get 503 with Retry-After.",
    )
    redis_max_connections: int = Field(
        128,
        ge=1,
        description="Store connections per API process; a request waits up to "
        "LSO_REDIS_TIMEOUT_MS for a free one instead of failing at once.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses whose X-Forwarded-For / X-Forwarded-Proto are "
        "believed (`*`: any). Default none: the client address is the peer's.",
    )
    allowed_hosts: str = Field(
        "*",
        description="Comma-separated host names the API answers for (`Host` header; "
        "`*.example.com` patterns work); others get 400. `*`: any.",
    )
    log_level: str = Field("INFO", description="Python logging level name.")

    @property
    def ingest_deadline_budget_ms(self) -> int:
        """The deadline of an append, after the request (LSO_INGEST_DEADLINE_MS or its default)."""
        return self.ingest_deadline_ms or max(self.redis_timeout_ms // 2, 1)

    @model_validator(mode="after")
    def _check_thresholds(self) -> "Settings":
        if self.degraded_error_rate > self.unhealthy_error_rate:
            raise ValueError("LSO_DEGRADED_ERROR_RATE must not exceed LSO_UNHEALTHY_ERROR_RATE")
        if self.worker_block_ms >= self.claim_idle_ms:
            raise ValueError("LSO_WORKER_BLOCK_MS must be below LSO_CLAIM_IDLE_MS")
        if self.max_event_age_s > self.counter_retention_s:
            raise ValueError("LSO_MAX_EVENT_AGE_S must not exceed LSO_COUNTER_RETENTION_S")
        if (
            self.ingest_deadline_ms is not None
            and self.ingest_deadline_ms * 2 > self.redis_timeout_ms
        ):
            raise ValueError("LSO_INGEST_DEADLINE_MS must be at most half of LSO_REDIS_TIMEOUT_MS")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
