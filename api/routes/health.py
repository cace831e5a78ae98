from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import HealthReaderDep, NowDep, RegistryDep, SettingsDep
from api.routes.systems import SystemId
from api.schemas.health import Health

router = APIRouter(tags=["health"])


@router.get(
    "/systems/{system_id}/health",
    response_model=Health,
    responses={404: {"description": "Unknown system"}},
)
async def read_health(
    system_id: SystemId,
    registry: RegistryDep,
    reader: HealthReaderDep,
    settings: SettingsDep,
    now: NowDep,
    window_seconds: Annotated[int | None, Query(ge=10, le=86_400)] = None,
) -> Health:
    """Health over the last `window_seconds` of event time (default LSO_WINDOW_SECONDS)."""
    await registry.require(system_id)
    window_s = window_seconds or settings.window_seconds
    return await reader.read(system_id, window_s, now)
