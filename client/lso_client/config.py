"""The client's settings: where LSO is, the key, and the bounds of batching, memory and retries."""

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_URL = "http://localhost:8000"  # where `scripts/run` serves LSO
# The server's own limits (LSO_MAX_BATCH_EVENTS 5000, LSO_MAX_BODY_BYTES) are higher: a batch
# stays well below them so that a server with tighter settings still takes it.
MAX_BATCH_EVENTS = 1000


@dataclass(frozen=True)
class Config:
    """Every field has a default; `url` and `key` come from LSO_URL / LSO_KEY when not given."""

    url: str = DEFAULT_URL
    key: str | None = None
    # Events queued or in flight, at most; past it new events are dropped and counted.
    max_buffered_events: int = 100_000
    # A batch is sent when it holds this many events, or `flush_interval_s` after the last send.
    batch_events: int = MAX_BATCH_EVENTS
    # Serialized events per request, at most (the server's default body limit is larger).
    max_batch_bytes: int = 1_000_000
    flush_interval_s: float = 1.0
    # Bodies above this size are sent gzipped.
    gzip_min_bytes: int = 1024
    # One HTTP request (connect, send, answer).
    timeout_s: float = 10.0
    # Retries: exponential backoff from `backoff_initial_s`, doubling up to `backoff_max_s`, with
    # jitter; a Retry-After answer is honoured up to `retry_after_max_s`.
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 300.0
    # A repeated problem (drops, refused batches) is logged once per interval, with its count.
    warn_interval_s: float = 10.0
    # How long the flush at interpreter exit may take.
    exit_timeout_s: float = 5.0
    # Register a system named in `event`/`run` that LSO does not know (needs a key allowed to).
    create_systems: bool = True
    # The server's LSO_MAX_PAYLOAD_BYTES default: a larger payload is refused by `event()` at
    # once rather than making the server refuse the whole batch it travels in.
    max_payload_bytes: int = 8192

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"LSO url must be http(s)://host[:port][/path], not {self.url!r}")
        if not 1 <= self.batch_events <= MAX_BATCH_EVENTS:
            raise ValueError(f"batch_events must be 1..{MAX_BATCH_EVENTS}")
        if self.max_buffered_events < 1:
            raise ValueError("max_buffered_events must be at least 1")
        if self.flush_interval_s <= 0 or self.timeout_s <= 0:
            raise ValueError("flush_interval_s and timeout_s must be positive")


def from_env(url: str | None, key: str | None, **options: Any) -> Config:
    """A Config from the arguments given, LSO_URL / LSO_KEY for those not given, then defaults."""
    return Config(
        url=(url or os.environ.get("LSO_URL") or DEFAULT_URL).rstrip("/"),
        key=key or os.environ.get("LSO_KEY") or None,
        **options,  # an unknown name raises TypeError here
    )
