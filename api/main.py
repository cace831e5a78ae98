"""The FastAPI application: built here, routes live in api/routes/."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.exceptions import RedisError
from starlette.middleware.trustedhost import TrustedHostMiddleware

from api import errors
from api.auth import Authenticator
from api.docs import app_with_docs
from api.middleware.concurrency import ConcurrencyLimit
from api.middleware.health_memo import HealthMemo
from api.middleware.ingest_fast_path import IngestFastPath
from api.middleware.lineage_fast_path import LineageFastPath
from api.middleware.otlp_fast_path import OtlpFastPath
from api.middleware.ping_fast_path import PingFastPath
from api.middleware.probes import ProbePacer
from api.middleware.request_ids import RequestIdMiddleware
from api.middleware.request_metrics import RequestMetrics
from api.openapi_security import declare_security
from api.routes import (
    badges,
    channels,
    dashboard,
    dead_letters,
    dependencies,
    events,
    health,
    keys,
    lineage,
    metrics,
    notifications,
    otlp,
    pings,
    policies,
    probes,
    rate_limits,
    runs,
    systems,
)
from shared.adapters.pings import PING_PAYLOAD_BYTES
from shared.ingest.accept import Ingest
from shared.ingest.append import StreamAppender
from shared.ingest.rejections import RejectionBudget
from shared.ingest.validate import BatchValidator
from shared.services.backlog import Readiness
from shared.services.dead_letters import DeadLetters
from shared.services.dependencies import Dependencies
from shared.services.fleet import Fleet
from shared.services.health import HealthReader
from shared.services.history import HistoryReader
from shared.services.jobs import Jobs
from shared.services.lifecycle import Lifecycle
from shared.services.metrics import Metrics
from shared.services.notifications import Channels
from shared.services.raw_events import RawEvents
from shared.services.registry import Registry
from shared.services.run_starts import RunStarts
from shared.services.runs import Runs
from shared.services.tally import Tally
from shared.services.verdicts import Verdicts
from shared.settings import Settings, get_settings
from shared.store.client import AsyncRedis, async_client
from shared.store.partitions import Partitions

log = logging.getLogger("lso.api")


async def _awaited(task: "asyncio.Task[None]") -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = async_client(settings)
        _build_services(app.state, settings, client)
        if settings.auth == "off":
            log.warning(
                "LSO_AUTH=off: EVERY CALLER IS ADMIN. Anyone who can reach this port can read, "
                "write and delete everything. Use it only on a trusted network."
            )
        # Start-up objects never die: keep them out of every collection, and collect less often,
        # because parsed batches in flight otherwise trigger costly full collections.
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        flusher = asyncio.create_task(app.state.tally.run(client))
        yield
        flusher.cancel()
        # Bounded, step by step: a shutdown must end even when the store does not answer.
        close_s = 2 * settings.redis_timeout_ms / 1000
        for step in (
            _awaited(flusher),
            app.state.tally.flush(client),  # the last second's counts
            app.state.ingest_client.aclose(),
            client.aclose(),
        ):
            try:
                await asyncio.wait_for(step, close_s)
            except (TimeoutError, RedisError, OSError) as exc:
                log.debug("shutdown step failed: %r", exc)
        app.state.jobs.close()

    app = app_with_docs(
        title="LSO",
        version="0.1.0",
        description="Living Systems Observatory: telemetry ingest and health of data pipelines.",
        lifespan=lifespan,
        # No slash redirects: Starlette builds their Location from the Host header, which a client
        # chooses (`GET /systems/1/health/` with `Host: evil.example` redirected there).
        redirect_slashes=False,
        # Any route answers 503 with Retry-After while the store is unreachable.
        responses={503: {"description": "Store unavailable; retry after `Retry-After` seconds"}},
        # FastAPI's native OpenTelemetry asks the global providers on every request whether it
        # is configured (~20-60 µs a request, measured on the health path); LSO configures none
        # and has its own metrics (GET /metrics).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    _install_middlewares(app, settings)
    for module in (
        systems, keys, policies, rate_limits, events, health, runs, probes, dead_letters,
        channels, notifications, dependencies, lineage, otlp, pings, badges, dashboard, metrics,
    ):  # fmt: skip
        app.include_router(module.router)
    _add_schema_components(app, events.BODY_COMPONENTS)
    declare_security(app, settings)
    return app


def _install_middlewares(app: FastAPI, settings: Settings) -> None:
    """Each `add_middleware` wraps the ones before it: the first added runs innermost."""
    # Innermost, so that their answers get a request id too.
    app.add_middleware(HealthMemo)
    app.add_middleware(ProbePacer, rate_per_s=settings.probe_rate_per_s)
    app.add_middleware(IngestFastPath)
    app.add_middleware(PingFastPath)
    app.add_middleware(LineageFastPath)
    app.add_middleware(OtlpFastPath)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(
        ConcurrencyLimit,
        max_requests=settings.max_concurrent_requests,
        wait_s=settings.redis_timeout_ms / 1000,
    )
    # Outside every middleware that answers, so that each request is counted (GET /metrics).
    app.add_middleware(RequestMetrics)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-Api-Key", "Content-Type", "Content-Encoding",
                           "Idempotency-Key", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
        )  # fmt: skip
    # Outermost: a request for a host we do not serve gets no further.
    hosts = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    if hosts and hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)


def _build_services(state: Any, settings: Settings, client: AsyncRedis) -> None:
    """The domain's services, built once per process and kept on `app.state` (api/deps.py)."""
    state.settings = settings
    state.clock = lambda: datetime.now(UTC)
    state.redis = client
    partitions = state.partitions = Partitions(client, settings.partitions)
    registry = state.registry = Registry(client, settings.rate_limit_events_per_s, partitions)
    readiness = state.readiness = Readiness(client, settings, partitions)
    # The ingest call goes through a client that never resends it (shared/ingest/outcome.py).
    state.ingest_client = async_client(settings, resend=False)
    appender = StreamAppender(state.ingest_client, settings, partitions)
    rejections = RejectionBudget(settings.rejected_cpu_ms_per_s)
    state.tally = Tally()  # this process's request figures, added to the store every second
    state.ingest = Ingest(registry, readiness, BatchValidator(settings), appender, rejections,
                          state.tally)  # fmt: skip
    # A ping's body (up to 10 KB) is kept whole in its payload, whatever LSO_MAX_PAYLOAD_BYTES says.
    payload_bytes = max(settings.max_payload_bytes, PING_PAYLOAD_BYTES)
    state.ping_validator = BatchValidator(
        settings.model_copy(update={"max_payload_bytes": payload_bytes})
    )
    state.health_reader = HealthReader(client, settings, partitions)
    verdicts = Verdicts(client, partitions)
    state.dependencies = Dependencies(client, registry, partitions)
    state.fleet = Fleet(registry, verdicts, state.health_reader, settings, state.dependencies)
    state.metrics = Metrics(client, settings, registry, verdicts, partitions)
    state.history = HistoryReader(client, settings, partitions)
    state.raw_events = RawEvents(client, settings, partitions)
    state.runs = Runs(client, settings, partitions)
    fsync_ms = max(settings.redis_timeout_ms // 2, 1) if settings.durable_ack else None
    state.run_starts = RunStarts(client, partitions, settings.counter_retention_s, fsync_ms)
    state.probe_cache = {}
    state.authenticator = Authenticator(client, settings)
    state.dead_letters = DeadLetters(client, settings, partitions)
    state.channels = Channels(client, partitions, settings.allow_private_webhooks)
    state.jobs = Jobs(settings)
    state.lifecycle = Lifecycle(registry, state.authenticator.store, state.channels, state.jobs,
                                state.dependencies)  # fmt: skip


def _add_schema_components(app: FastAPI, components: dict[str, Any]) -> None:
    """Add hand-declared schemas (see api/routes/events.py) to the generated OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # generate() fills it in; add to it once
            generate().setdefault("components", {}).setdefault("schemas", {}).update(components)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
