from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import JSONResponse

from api.deps import RegistryDep
from api.schemas.systems import System, SystemCreate, SystemList

router = APIRouter(prefix="/systems", tags=["systems"])

SystemId = Annotated[int, Path(ge=1, description="Id assigned at registration")]


@router.post(
    "",
    status_code=201,
    response_model=System,
    responses={200: {"model": System, "description": "Already registered under that name"}},
)
async def create_system(body: SystemCreate, registry: RegistryDep) -> JSONResponse:
    """Register a system. Idempotent by name: the same name again returns the existing system."""
    created, system = await registry.register(body.name, body.description)
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
