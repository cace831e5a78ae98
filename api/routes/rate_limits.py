"""A system's ingest rate limit: read and set."""

from fastapi import APIRouter

from api.deps import AdministeredSystem, ReadableSystem, RegistryDep, SettingsDep, SystemId
from api.schemas.rate_limits import RateLimit, RateLimitUpdate

router = APIRouter(tags=["systems"])


async def _rate_limit(system_id: int, registry: RegistryDep, settings: SettingsDep) -> RateLimit:
    own = await registry.rate_limit(system_id)
    effective = settings.rate_limit_events_per_s if own is None else own
    return RateLimit(system_id=system_id, events_per_s=own, effective_events_per_s=effective)


@router.get(
    "/systems/{system_id}/rate-limit",
    response_model=RateLimit,
    responses={404: {"description": "Unknown system"}},
)
async def read_rate_limit(
    system_id: SystemId, _: ReadableSystem, registry: RegistryDep, settings: SettingsDep
) -> RateLimit:
    """The ingest rate limit of a system (LSO_RATE_LIMIT_EVENTS_PER_S unless it has its own)."""
    return await _rate_limit(system_id, registry, settings)


@router.put(
    "/systems/{system_id}/rate-limit",
    response_model=RateLimit,
    responses={404: {"description": "Unknown system"}},
)
async def update_rate_limit(
    system_id: SystemId,
    body: RateLimitUpdate,
    _: AdministeredSystem,
    registry: RegistryDep,
    settings: SettingsDep,
) -> RateLimit:
    """Set the system's own limit in events/s (0: unlimited; null: back to the default). Every API
    replica applies it within two seconds."""
    await registry.set_rate_limit(system_id, body.events_per_s)
    return await _rate_limit(system_id, registry, settings)
