"""OpenLineage: `POST /api/v1/lineage`, where `openlineage-python`'s HttpTransport sends RunEvents
by default (shared/adapters/openlineage.py maps them), so that Airflow, dbt-ol and the Spark
listener report to LSO by configuration only.

The OpenLineage client retries 500/502/503/504 and never 429, so every "not now" (over the rate
limit, shedding load, store down) is a 503 with `Retry-After` here.
"""

import math
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.auth import CallerDep, Principal
from api.body import read_json_body
from api.deps import NowDep
from api.errors import retry_later
from api.reporting import BadSystemName, reporting_system
from api.schemas.events import Accepted
from shared.adapters.openlineage import Report, native_events, parse
from shared.errors import InvalidInput, RateLimited
from shared.ingest.accept import Ingest
from shared.services.lifecycle import Lifecycle
from shared.services.registry import Registry
from shared.services.run_starts import RunStarts, Start, WaitingEnd
from shared.settings import Settings

router = APIRouter(tags=["openlineage"])
LINEAGE_PATH = "/api/v1/lineage"  # openlineage-python's default endpoint

# Where a native field's error points in the RunEvent.
_FIELDS = {"ts": ("eventTime",), "run_id": ("run", "runId"), "stage": ("job", "name"),
           "event_type": ("eventType",), "payload": ("run", "facets")}  # fmt: skip


@router.post(
    LINEAGE_PATH,
    response_model=Accepted,
    responses={
        400: {"description": "Broken gzip, or the client left before sending the whole body"},
        401: {"description": "No key, or an unknown one"},
        403: {"description": "The key may not report to (or create) this job's system"},
        404: {"description": "An ingest key of another system, or an unknown system"},
        413: {"description": "Body larger than LSO_MAX_BODY_BYTES (compressed or not)"},
        422: {"description": "Not a valid RunEvent; `detail` names the field"},
        503: {"description": "Over the rate limit, overloaded or store down: retry after "
              "`Retry-After` seconds (the OpenLineage client retries 503, never 429)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description":
                "An OpenLineage RunEvent (https://openlineage.io/spec/2-0-2/OpenLineage.json)"}}},
        }
    },
)  # fmt: skip
async def post_lineage(request: Request, caller: CallerDep, now: NowDep) -> Response:
    """Take one RunEvent. 200 only once its events are in the stream."""
    return await take_run_event(request, caller, now)


async def take_run_event(request: Request, caller: Principal | None, now: datetime) -> Response:
    """The whole of a lineage request after routing (api/middleware/lineage_fast_path.py calls
    it too); the services come from `app.state` (api/main.py)."""
    state = request.app.state
    registry: Registry = state.registry
    lifecycle: Lifecycle = state.lifecycle
    ingest: Ingest = state.ingest
    run_starts: RunStarts = state.run_starts
    settings: Settings = state.settings
    report = parse(await read_json_body(request, settings.max_body_bytes))
    try:
        system_id = await reporting_system(caller, report.system_name, registry, lifecycle)
    except BadSystemName as exc:
        where = ("body", "run", "facets", "parent", "job") if report.stage else ("body", "job")
        problem = f"gives the system name {report.system_name!r}: {exc}"
        raise InvalidInput([_error(where, problem)]) from None
    started = await run_starts.find(system_id, report.pair_id) if report.kind == "end" else None
    if report.kind == "end" and started is None:
        return await _end_before_start(report, system_id, ingest, run_starts, settings, now)
    events = native_events(report, None if started is None else started.ts_ms)
    body = orjson.dumps({"events": events})

    async def native_body() -> bytes:
        return body

    try:
        accepted = await ingest.accept(system_id, native_body, now, None)
        if report.kind == "start":
            start = Start(math.floor(report.at.timestamp() * 1000), report.run_id)
            waiting = await run_starts.record(system_id, report.pair_id, start)
            if waiting is not None:  # its end came first: counted now, with its duration
                await ingest.accept_rows(system_id, [waiting.counted(start)])
                await run_starts.settle(waiting)
    except RateLimited as exc:
        return retry_later(503, exc.detail, exc.retry_after_s)
    except InvalidInput as exc:
        raise InvalidInput([_in_run_event(e) for e in exc.errors()], exc.complete) from None
    return JSONResponse({"accepted": accepted})


async def _end_before_start(
    report: Report,
    system_id: int,
    ingest: Ingest,
    run_starts: RunStarts,
    settings: Settings,
    now: datetime,
) -> Response:
    """An end whose START was not seen: its `run_end` marker is appended now (the run shows as
    ended at once), and the counted end waits for the START, which counts it with its duration
    (or the jobs' sweep, LSO_RUN_START_WAIT_S later, with latency 0). The same result as in
    order, whichever comes first."""
    body = orjson.dumps({"events": native_events(report, None)})
    try:
        counted, *markers = ingest.validator.validate(system_id, body, now)
    except InvalidInput as exc:
        raise InvalidInput([_in_run_event(e) for e in exc.errors()], exc.complete) from None
    waiting = WaitingEnd(system_id, report.pair_id, counted, report.at.timestamp() * 1000)
    due_ms = math.floor(now.timestamp() * 1000) + settings.run_start_wait_s * 1000
    try:
        await ingest.admit(system_id)  # the limits and the shedding, before anything is written
        start = await run_starts.wait_for_start(waiting, due_ms)
        if start is not None:  # the START came meanwhile
            await ingest.accept_rows(system_id, [waiting.counted(start), *markers])
        elif markers:
            await ingest.accept_rows(system_id, markers)
    except RateLimited as exc:
        return retry_later(503, exc.detail, exc.retry_after_s)
    return JSONResponse({"accepted": 1 + len(markers)})


def _error(loc: tuple[str, ...], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": "value_error"}


def _in_run_event(error: dict[str, Any]) -> dict[str, Any]:
    """A native validation error, pointed at the RunEvent field it came from."""
    loc = tuple(error.get("loc", ()))
    if len(loc) >= 4 and loc[:2] == ("body", "events") and loc[3] in _FIELDS:
        return {**error, "loc": ("body", *_FIELDS[loc[3]], *loc[4:])}
    return error
