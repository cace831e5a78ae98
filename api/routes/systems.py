from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from api.deps import RegistryDep, SettingsDep, SystemId
from api.routes.policies import resolve
from api.schemas.systems import System, SystemCreate, SystemList

router = APIRouter(prefix="/systems", tags=["systems"])


@router.post(
    "",
    status_code=201,
    response_model=System,
    responses={200: {"model": System, "description": "Already registered under that name"}},
)
async def create_system(
    body: SystemCreate, registry: RegistryDep, settings: SettingsDep
) -> JSONResponse:
    """Register a system. Idempotent by name: the same name again returns the existing system
    (a `policy` in the body is set in both cases)."""
    if body.policy is not None:
        resolve(body.policy, settings)  # 422 before anything is stored
    created, system = await registry.register(body.name, body.description)
    if body.policy is not None:
        await registry.set_policy(system.system_id, body.policy)
    return JSONResponse(system.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("", response_model=SystemList)
async def read_systems(registry: RegistryDep) -> SystemList:
    return SystemList(systems=await registry.list())


@router.get("/{system_id}", response_model=System, responses={404: {"description": "Unknown"}})
async def read_system(system_id: SystemId, registry: RegistryDep) -> System:
    system = await registry.get(system_id)
    if system is None:
        raise HTTPException(404, f"system {system_id} not found")
    return system
