"""A system's health policy: read (own and effective) and replace."""

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AdministeredSystem, ReadableSystem, RegistryDep, SettingsDep, SystemId
from shared.model.policy import EffectivePolicy, Policy, resolve_new, resolve_stored

router = APIRouter(tags=["systems"])


class PolicyView(BaseModel):
    system_id: int
    policy: Policy
    effective: EffectivePolicy


@router.get("/systems/{system_id}/policy", response_model=PolicyView,
            responses={404: {"description": "Unknown system"}})  # fmt: skip
async def read_policy(
    system_id: SystemId, known: ReadableSystem, settings: SettingsDep
) -> PolicyView:
    """The system's own health policy and the effective one (with the defaults filled in)."""
    return PolicyView(
        system_id=system_id, policy=known.policy, effective=resolve_stored(known.policy, settings)
    )


@router.put("/systems/{system_id}/policy", response_model=PolicyView,
            responses={404: {"description": "Unknown system"}})  # fmt: skip
async def update_policy(
    system_id: SystemId,
    body: Policy,
    _: AdministeredSystem,
    registry: RegistryDep,
    settings: SettingsDep,
) -> PolicyView:
    """Replace the system's policy (fields left out: the defaults). Applies to the next read."""
    resolved = resolve_new(body, settings)
    await registry.set_policy(system_id, body)
    return PolicyView(system_id=system_id, policy=body, effective=resolved)
