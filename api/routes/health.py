"""Health: one system's answer, its load-balancer probe, its history, and the fleet overview."""

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from api import auth
from api.auth import CallerDep
from api.deps import (
    DependenciesDep,
    FleetDep,
    HealthReaderDep,
    HistoryReaderDep,
    NowDep,
    ReadableSystem,
    ReaderCaller,
    RegistryDep,
    SettingsDep,
    SystemId,
)
from api.overview_json import OverviewJson, line_json
from api.paging import NamePrefix, PageLimit, cursor_query
from api.schemas.health import Health, Overview, Probe
from api.schemas.history import History
from api.time_range import time_range
from shared.errors import BadRequest
from shared.model.dependencies import annotated
from shared.model.policy import resolve_stored
from shared.model.times import iso_ms
from shared.model.verdict import Verdict
from shared.services import fleet_figures
from shared.services.fleet_figures import Figures

router = APIRouter(tags=["health"])

CURSOR_PATTERN = r"^[0-3]\.\d{1,18}$"  # "<rank of the verdict>.<system id>"
_OVERVIEW_JSON = OverviewJson()  # the lines' JSON, kept while they stay the same
FIGURES_DESCRIPTION = (
    "Add each line's figures over its policy's window (total, error_rate, p95_latency, "
    f"last_event_at); needs a `limit` of at most {fleet_figures.MAX_SYSTEMS}"
)


async def _health(
    system_id: int,
    registry: RegistryDep,
    reader: HealthReaderDep,
    settings: SettingsDep,
    now: NowDep,
    window_seconds: int | None,
    dependencies: DependenciesDep,
) -> Health:
    known = await registry.require(system_id)
    policy = resolve_stored(known.policy, settings)
    if window_seconds is not None:
        policy = policy.model_copy(update={"window_seconds": window_seconds})
    health = await reader.read(system_id, policy, known.system.created_at, now)
    upstream = (await dependencies.failing_upstreams([system_id])).get(system_id)
    if not upstream:
        return health
    return health.model_copy(
        update={"upstream": upstream, "reason": annotated(health.reason, upstream)}
    )


_HEALTH_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The health, or with `probe=1` the verdict only (OK, DEGRADED)"},
    404: {"description": "Unknown system"},
    409: {"description": "The system's policy conflicts with changed defaults"},
    503: {
        "description": "With `probe=1`: UNHEALTHY (or NO_DATA if the policy says so)",
        "model": Probe,
    },
}


@router.get(
    "/systems/{system_id}/health",
    response_model=Health | Probe,
    responses=_HEALTH_RESPONSES,
    operation_id="read_health",
)
@router.head(
    "/systems/{system_id}/health",
    responses=_HEALTH_RESPONSES,
    operation_id="probe_health",
    summary="Probe health (no body)",
)
async def read_health(
    system_id: SystemId,
    request: Request,
    caller: CallerDep,
    registry: RegistryDep,
    reader: HealthReaderDep,
    settings: SettingsDep,
    now: NowDep,
    dependencies: DependenciesDep,
    window_seconds: Annotated[int | None, Query(ge=10, le=86_400)] = None,
    probe: Annotated[bool, Query(description="Load-balancer mode: 200 or 503, tiny body")] = False,
) -> Response:
    """Health over the last `window_seconds` of event time (default: the system's policy);
    `upstream` names the failing upstreams that explain it (docs/dependencies.md)."""
    if not (probe and settings.public_probes):
        auth.read(caller, system_id)

    def read() -> Awaitable[Health]:
        return _health(system_id, registry, reader, settings, now, window_seconds, dependencies)

    if probe:
        return await _probe(request, (system_id, window_seconds), read)
    return JSONResponse((await read()).model_dump(mode="json"))


@router.options("/systems/{system_id}/health", status_code=204, include_in_schema=False)
async def options_health(system_id: SystemId) -> Response:
    """GET and HEAD are two routes here, and without this a 405 would name only one of them."""
    return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})


PROBE_CACHE_S = 1.0


async def _probe(
    request: Request, key: tuple[int, int | None], read: Callable[[], Awaitable[Health]]
) -> Response:
    """200 or 503 with a tiny body. Many load balancers polling every second cost one health
    read (`read()`) per system, window and process per second: answers are kept PROBE_CACHE_S."""
    cache: dict[tuple[int, int | None], tuple[float, int, bytes]] = request.app.state.probe_cache
    cached = cache.get(key)
    if cached is None or cached[0] <= time.monotonic():
        health = await read()
        failing = health.health is Verdict.UNHEALTHY or (
            health.health is Verdict.NO_DATA and health.policy.probe_no_data == "unhealthy"
        )
        # Probes answer without a key (LSO_PUBLIC_PROBES): the verdict, no user-written text.
        reason = None if request.app.state.settings.public_probes else health.reason
        body = Probe(system_id=health.system_id, health=health.health, reason=reason)
        cached = (
            time.monotonic() + PROBE_CACHE_S,
            503 if failing else 200,
            body.model_dump_json().encode(),
        )
        cache[key] = cached
    return Response(
        b"" if request.method == "HEAD" else cached[2],
        status_code=cached[1],
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/health",
    response_model=Overview,
    responses={422: {"description": "A bad filter, limit or cursor"}},
)
async def read_overview(
    reader_key: ReaderCaller,
    fleet: FleetDep,
    registry: RegistryDep,
    reader: HealthReaderDep,
    settings: SettingsDep,
    now: NowDep,
    health: Annotated[Verdict | None, Query(description="Only systems of this verdict")] = None,
    prefix: NamePrefix = None,
    limit: PageLimit = None,
    cursor: Annotated[str | None, cursor_query(CURSOR_PATTERN)] = None,
    figures: Annotated[bool, Query(description=FIGURES_DESCRIPTION)] = False,
    roots: Annotated[
        bool, Query(description="Only failing systems (not OK) that no failing upstream explains")
    ] = False,
) -> Response:
    """One line per system (verdict, reason, since when, evaluated when), worst first, then by
    id. The verdicts are the jobs' last evaluation (`evaluated_at`: about a second old while
    they keep up); a system they have not evaluated yet is evaluated for the answer (up to 100
    of them; the rest are NO_DATA "not evaluated yet", `evaluated_at` null)."""
    if figures and (limit is None or limit > fleet_figures.MAX_SYSTEMS):
        raise BadRequest(f"figures=true needs a limit of at most {fleet_figures.MAX_SYSTEMS}")
    after = None
    if cursor is not None:
        rank, _, system_id = cursor.partition(".")
        after = (int(rank), int(system_id))
    sees = None if reader_key.kind == "admin" else reader_key.sees  # None: every system
    page = await fleet.overview(
        sees, now, verdict=health, prefix=prefix, after=after, limit=limit, roots=roots
    )
    # Built as plain JSON, not through the response model: 10 000 validated models cost ~0.2 s
    # (tests/api/routes/test_overview.py holds the answer to the Overview schema).
    next_cursor = None if page.next_after is None else "{}.{}".format(*page.next_after)
    if not figures:
        return Response(_OVERVIEW_JSON.body(page.lines, next_cursor), media_type="application/json")
    lines = [line_json(line) for line in page.lines]
    found = await fleet_figures.figures(
        registry, reader, settings, [line.system_id for line in page.lines], now
    )
    for line, rendered in zip(page.lines, lines, strict=True):
        rendered.update(_figures_json(found.get(line.system_id)))
    body = orjson.dumps({"systems": lines, "next_cursor": next_cursor})
    return Response(body, media_type="application/json")


def _figures_json(found: Figures | None) -> dict[str, object]:
    if found is None:  # deleted meanwhile, or a policy in conflict
        return dict.fromkeys(("window_seconds", "total", "error_rate", "p95_latency",
                              "last_event_at"))  # fmt: skip
    last = None if found.last_event_at is None else iso_ms(_ms(found.last_event_at))
    return {"window_seconds": found.window_s, "total": found.total,
            "error_rate": found.error_rate, "p95_latency": found.p95_latency_ms,
            "last_event_at": last}  # fmt: skip


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


@router.get(
    "/systems/{system_id}/health/history",
    response_model=History,
    responses={404: {"description": "Unknown system"},
               422: {"description": "Bad range, or more than 1000 points"}},
)  # fmt: skip
async def read_history(
    system_id: SystemId,
    known: ReadableSystem,
    history: HistoryReaderDep,
    settings: SettingsDep,
    now: NowDep,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: Annotated[AwareDatetime | None, Query()] = None,
    step: Annotated[int | None, Query(ge=1, le=86_400, description="Seconds per point")] = None,
) -> History:
    """Total, errors, error rate, p95 and verdict per step, for plots (at most 1000 points).
    Defaults: the last hour, 60 s steps."""
    start, end = time_range(from_, to, now, timedelta(hours=1), ("from", "to"))
    step_s = step or 60
    policy = resolve_stored(known.policy, settings)
    created_at = known.system.created_at
    points = await history.read(system_id, policy, start, end, step_s, created_at, now)
    return History(system_id=system_id, step_seconds=step_s, points=points)
