"""Events: `POST /systems/{id}/events` (the ingest use case, shared/ingest/accept.py) and the
raw-event listing."""

import math
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import AwareDatetime

from api import auth
from api.auth import CallerDep
from api.body import read_json_body
from api.deps import IngestDep, NowDep, RawEventsDep, ReadableSystem, SettingsDep, SystemId
from api.schemas.events import Accepted, batch_model
from api.schemas.raw_events import EventPage
from api.time_range import time_range
from shared.ingest.accept import Ingest
from shared.services.raw_events import Filters
from shared.settings import Settings

router = APIRouter(tags=["events"])

# The body is validated from raw bytes (shared/ingest/), not by FastAPI, so its schema is declared
# by hand; the models it refers to are added to the document's components (api/main.py).
_BODY_SCHEMA = batch_model(5000).model_json_schema(ref_template="#/components/schemas/{model}")
BODY_COMPONENTS: dict[str, object] = _BODY_SCHEMA.pop("$defs", {})

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Client-chosen key of this batch: a batch re-sent with the same key "
        "(within LSO_DEDUPE_TTL_S) is accepted again but counted once.",
    ),
]


@router.post(
    "/systems/{system_id}/events",
    status_code=202,
    response_model=Accepted,
    responses={
        400: {"description": "Broken gzip, or the client left before sending the whole body"},
        404: {"description": "Unknown system (checked before the body)"},
        413: {"description": "Body larger than LSO_MAX_BODY_BYTES (compressed or not)"},
        415: {"description": "Not JSON, or an encoding other than gzip"},
        422: {"description": "Invalid batch; `detail` names each event index and field"},
        429: {"description": "Over the system's rate limit; retry after `Retry-After` seconds"},
        503: {"description": "Overloaded or store unavailable; retry after `Retry-After` seconds"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        }
    },
)
async def create_events(
    system_id: SystemId,
    request: Request,
    caller: CallerDep,
    ingest: IngestDep,
    settings: SettingsDep,
    now: NowDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Accept a batch of events. 202 is returned only once the batch is in the stream."""
    return await accept(ingest, settings, system_id, request, caller, now, idempotency_key)


async def accept(
    ingest: Ingest,
    settings: Settings,
    system_id: int,
    request: Request,
    caller: auth.Principal | None,
    now: datetime,
    idempotency_key: str | None,
) -> Response:
    """The whole of an ingest request after routing (the ingest fast path calls it too)."""
    name = None
    if caller is not None and caller.kind == "namespace":  # its systems are known by name
        name = (await ingest.registry.require(system_id)).system.name
    auth.ingest(caller, system_id, name)

    def read_body() -> Awaitable[bytes]:
        return read_json_body(request, settings.max_body_bytes)

    accepted = await ingest.accept(system_id, read_body, now, idempotency_key)
    return Response(b'{"accepted":%d}' % accepted, status_code=202, media_type="application/json")


@router.get(
    "/systems/{system_id}/events",
    response_model=EventPage,
    responses={404: {"description": "Unknown system"}, 422: {"description": "Bad range or cursor"}},
)
async def read_events(
    system_id: SystemId,
    _: ReadableSystem,
    raw_events: RawEventsDep,
    settings: SettingsDep,
    now: NowDep,
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
    status: Annotated[Literal["ok", "error"] | None, Query()] = None,
    stage: Annotated[str | None, Query(max_length=64)] = None,
    run_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^-?\d+\.\d+$")] = None,
) -> EventPage:
    """Recent raw events (kept LSO_RAW_RETENTION_S), newest first. Defaults: everything kept."""
    retention = timedelta(seconds=settings.raw_retention_s)
    since_dt, until_dt = time_range(since, until, now, retention, ("since", "until"))
    events, next_cursor = await raw_events.page(
        system_id,
        _ms(since_dt),
        _ms(until_dt),
        Filters(status, stage, run_id),
        limit,
        cursor,
    )
    return EventPage(events=events, next_cursor=next_cursor)


def _ms(at: datetime) -> int:
    return math.floor(at.timestamp() * 1000)
