from typing import Annotated

from fastapi import APIRouter, Query

from api import auth
from api.auth import CallerDep
from api.deps import NowDep, RegistryDep, RunsDep, SettingsDep, SystemId
from api.routes.health import effective_policy
from api.schemas.runs import RunList

router = APIRouter(tags=["runs"])


@router.get(
    "/systems/{system_id}/runs",
    response_model=RunList,
    responses={404: {"description": "Unknown system"}},
)
async def read_runs(
    system_id: SystemId,
    caller: CallerDep,
    registry: RegistryDep,
    runs: RunsDep,
    settings: SettingsDep,
    now: NowDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RunList:
    """Recent runs (events sharing a `run_id`), most recently active first, with their outcome
    and the policy's duration flags."""
    auth.read(caller, system_id)
    known = await registry.require(system_id)
    policy = effective_policy(known.policy, settings)
    return RunList(runs=await runs.recent(system_id, policy, now, limit))
