"""A system's recent runs with their outcome and duration flags."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import NowDep, ReadableSystem, RunsDep, SettingsDep, SystemId
from api.schemas.runs import RunList
from shared.model.policy import resolve_stored

router = APIRouter(tags=["runs"])


@router.get(
    "/systems/{system_id}/runs",
    response_model=RunList,
    responses={404: {"description": "Unknown system"}},
)
async def read_runs(
    system_id: SystemId,
    known: ReadableSystem,
    runs: RunsDep,
    settings: SettingsDep,
    now: NowDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RunList:
    """Recent runs (events sharing a `run_id`), most recently active first, with their outcome
    and the policy's duration flags."""
    policy = resolve_stored(known.policy, settings)
    return RunList(runs=await runs.recent(system_id, policy, now, limit))
