from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ValidationError

from api import auth
from api.auth import CallerDep
from api.deps import RegistryDep, SettingsDep, SystemId
from shared.model.policy import EffectivePolicy, Policy, effective

router = APIRouter(tags=["systems"])


class PolicyView(BaseModel):
    system_id: int
    policy: Policy
    effective: EffectivePolicy


def resolve(policy: Policy, settings: SettingsDep) -> EffectivePolicy:
    """The effective policy, or 422 when the system's values contradict each other or a default."""
    try:
        return effective(policy, settings)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "policy"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        raise HTTPException(422, errors) from exc


@router.get("/systems/{system_id}/policy", response_model=PolicyView,
            responses={404: {"description": "Unknown system"}})  # fmt: skip
async def read_policy(
    system_id: SystemId, caller: CallerDep, registry: RegistryDep, settings: SettingsDep
) -> PolicyView:
    """The system's own health policy and the effective one (with the defaults filled in)."""
    auth.read(caller, system_id)
    known = await registry.require(system_id)
    return PolicyView(
        system_id=system_id, policy=known.policy, effective=resolve(known.policy, settings)
    )


@router.put("/systems/{system_id}/policy", response_model=PolicyView,
            responses={404: {"description": "Unknown system"}})  # fmt: skip
async def update_policy(
    system_id: SystemId,
    body: Policy,
    caller: CallerDep,
    registry: RegistryDep,
    settings: SettingsDep,
) -> PolicyView:
    """Replace the system's policy (fields left out: the defaults). Applies to the next read."""
    auth.admin(caller)
    await registry.require(system_id)
    resolved = resolve(body, settings)
    await registry.set_policy(system_id, body)
    return PolicyView(system_id=system_id, policy=body, effective=resolved)
