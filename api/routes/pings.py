"""Healthchecks-style ping URLs: `GET|POST|HEAD /ping/{ping_key}[/start|/fail|/log|/<0-255>]`
(shared/adapters/pings.py), so that a crontab's `curl -fsS -m 10 --retry 5 <url>` works by
changing only the host.

The ping key is the credential and travels in the path; nothing here logs a path, and answers
never repeat the key. An unknown key counts as a failed authentication of the caller's address.
"""

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse
from fastapi.types import DecoratedCallable

from api.auth import Authenticator
from api.body import read_body
from api.deps import AuthenticatorDep, IngestDep, NowDep, RunStartsDep
from shared.adapters.pings import (
    CURRENT_RUN,
    PING_BODY_BYTES,
    Signal,
    ping_events,
    signal_of_exit_status,
)
from shared.ingest.accept import Ingest
from shared.services.run_starts import RunStarts, Start

router = APIRouter(prefix="/ping", tags=["pings"])

RunId = Annotated[
    str | None,
    Query(
        alias="rid",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Pairs a start with its end (the run id); without it, an end closes the "
        "system's latest start without `rid`",
    ),
]


@dataclass
class Ping:
    """One ping request, with what answering it needs."""

    ping_key: str
    request: Request
    authenticator: Authenticator
    ingest: Ingest
    run_starts: RunStarts
    now: datetime
    rid: str | None

    async def answer(self, signal: Signal, exit_status: int | None = None) -> PlainTextResponse:
        client = self.request.client
        caller = await self.authenticator.check(self.ping_key, client.host if client else "-")
        if caller is None or caller.kind != "ping" or len(caller.systems) != 1:
            raise HTTPException(404, "not found")
        (system_id,) = caller.systems
        pair_id = CURRENT_RUN if self.rid is None else self.rid
        run_id, started = self.rid, None
        if signal is Signal.START:
            run_id = self.rid or uuid.uuid4().hex
        elif signal is not Signal.LOG:
            started = await self.run_starts.find(system_id, pair_id)
            if started is not None:
                run_id = started.run_id
        now = self.now

        async def native_body() -> bytes:
            limit_bytes = min(PING_BODY_BYTES, self.request.app.state.settings.max_body_bytes)
            body = await read_body(self.request, limit_bytes)
            started_ms = None if started is None else started.ts_ms
            events = ping_events(signal, now, body, run_id, started_ms, exit_status)
            return orjson.dumps({"events": events})

        validator = self.request.app.state.ping_validator
        await self.ingest.accept(system_id, native_body, now, None, validator)
        if signal is Signal.START and run_id is not None:
            start = Start(math.floor(now.timestamp() * 1000), run_id)
            await self.run_starts.record(system_id, pair_id, start)
        elif started is not None and self.rid is None:  # over: the next start opens a new run
            await self.run_starts.forget(system_id, pair_id)
        return PlainTextResponse("OK")


async def _ping(
    ping_key: Annotated[str, Path(max_length=128, description="A key of kind `ping`")],
    request: Request,
    authenticator: AuthenticatorDep,
    ingest: IngestDep,
    run_starts: RunStartsDep,
    now: NowDep,
    rid: RunId = None,
) -> Ping:
    # `async def`: FastAPI would construct a class dependency in its thread pool.
    return Ping(ping_key, request, authenticator, ingest, run_starts, now, rid)


PingDep = Annotated[Ping, Depends(_ping)]
METHODS = ["GET", "POST", "HEAD"]
RESPONSES: dict[int | str, dict[str, str]] = {
    200: {"description": "`OK`: the ping is in the stream"},
    404: {"description": "Unknown or revoked ping key"},
    413: {"description": f"Body over {PING_BODY_BYTES} bytes"},
    429: {"description": "Over the system's rate limit; retry after `Retry-After` seconds"},
    503: {"description": "Overloaded or store unavailable; retry after `Retry-After` seconds"},
}


def _route(path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """One route per method, so that each has an operation id of its own in /openapi.json."""

    def register(endpoint: DecoratedCallable) -> DecoratedCallable:
        for method in METHODS:
            name = f"{endpoint.__name__}_{method.lower()}"
            router.add_api_route(path, endpoint, methods=[method], name=name,
                                 response_class=PlainTextResponse, responses=RESPONSES)  # fmt: skip
        return endpoint

    return register


@_route("/{ping_key}")
async def ping_success(ping: PingDep) -> PlainTextResponse:
    """Success: the job finished (closing its started run, which then has its duration)."""
    return await ping.answer(Signal.SUCCESS)


@_route("/{ping_key}/start")
async def ping_start(ping: PingDep) -> PlainTextResponse:
    """The job started: its run shows as running until its end (`max_run_seconds` flags it)."""
    return await ping.answer(Signal.START)


@_route("/{ping_key}/fail")
async def ping_fail(ping: PingDep) -> PlainTextResponse:
    """The job failed (an error event, closing its started run as failed)."""
    return await ping.answer(Signal.FAIL)


@_route("/{ping_key}/log")
async def ping_log(ping: PingDep) -> PlainTextResponse:
    """A note kept with the raw events (the body is its text); it changes nothing else."""
    return await ping.answer(Signal.LOG)


@_route("/{ping_key}/{exit_status}")
async def ping_exit_status(
    ping: PingDep, exit_status: Annotated[int, Path(ge=0, le=255)]
) -> PlainTextResponse:
    """The job's exit status: 0 is a success, anything else a failure."""
    return await ping.answer(signal_of_exit_status(exit_status), exit_status)
