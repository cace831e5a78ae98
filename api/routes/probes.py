"""Process probes: `/livez` (the process serves) and `/readyz` (the store answers and the backlog
is below its limit)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api import auth
from api.auth import CallerDep
from api.deps import ReadinessDep, SettingsDep
from api.errors import is_store_unavailable
from api.openapi_security import public_probe

router = APIRouter(tags=["probes"])


@router.get("/livez")
@public_probe
async def read_liveness(caller: CallerDep, settings: SettingsDep) -> dict[str, str]:
    """200 while the process serves requests."""
    if not settings.public_probes:
        auth.any_key(caller)
    return {"status": "alive"}


@router.get("/readyz", responses={503: {"description": "Store down or backlog too large"}})
@public_probe
async def read_readiness(
    readiness: ReadinessDep, caller: CallerDep, settings: SettingsDep
) -> JSONResponse:
    """200 when the store answers and the backlog is below LSO_MAX_LAG_EVENTS, else 503."""
    if not settings.public_probes:
        auth.any_key(caller)
    try:
        backlog = await readiness.backlog()
    except Exception as exc:
        if not is_store_unavailable(exc):
            raise
        return JSONResponse({"status": "unavailable", "reason": "store unreachable"}, 503)
    body = {"backlog_events": backlog.events, "max_lag_events": backlog.limit}
    if not backlog.ok:
        return JSONResponse({"status": "unavailable", "reason": "backlog too large", **body}, 503)
    return JSONResponse({"status": "ready", **body})
