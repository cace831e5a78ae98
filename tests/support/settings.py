"""Settings for the tests: a given store, short timings, and access control off."""

from typing import Any

from shared.settings import Settings


def make_settings(url: str, **overrides: Any) -> Settings:
    defaults: dict[str, Any] = {
        "redis_url": url,
        "worker_block_ms": 50,
        "claim_idle_ms": 60_000,
        "trim_interval_s": 0.01,
        # Access control has its own tests (tests/api/test_auth.py); elsewhere all are admin.
        "auth": "off",
    }
    return Settings(**{**defaults, **overrides})
