"""Systems: register, list, read and delete (shared/services/lifecycle.py)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api import auth
from api.auth import CallerDep
from api.deps import AdminCaller, LifecycleDep, RegistryDep, SettingsDep, SystemId
from api.schemas.keys import NewKey, SystemCreated
from api.schemas.systems import System, SystemCreate, SystemDeleted, SystemList
from shared.errors import SystemNotFound
from shared.model.policy import resolve_new

router = APIRouter(prefix="/systems", tags=["systems"])


@router.post(
    "",
    status_code=201,
    response_model=SystemCreated,
    responses={200: {"model": System, "description": "Already registered under that name"}},
)
async def create_system(
    body: SystemCreate, _: AdminCaller, lifecycle: LifecycleDep, settings: SettingsDep
) -> JSONResponse:
    """Register a system. Idempotent by name: the same name again returns the existing system
    (a `policy` in the body is set in both cases)."""
    if body.policy is not None:
        resolve_new(body.policy, settings)  # 422 before anything is stored
    registered = await lifecycle.register(body.name, body.description, body.policy)
    system = registered.system
    if registered.first_key is None:
        return JSONResponse(system.model_dump(mode="json"), status_code=200)
    token, record = registered.first_key
    answer = SystemCreated(
        **system.model_dump(), ingest_key=NewKey(token=token, **record.model_dump())
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=201)


@router.get("", response_model=SystemList)
async def read_systems(caller: CallerDep, registry: RegistryDep) -> SystemList:
    """The systems the caller may read, by id."""
    reader = auth.readers_only(caller)
    return SystemList(systems=[s for s in await registry.list() if reader.sees(s.system_id)])


@router.get("/{system_id}", response_model=System, responses={404: {"description": "Unknown"}})
async def read_system(system_id: SystemId, caller: CallerDep, registry: RegistryDep) -> System:
    auth.read(caller, system_id)
    system = await registry.get(system_id)  # not the 2-s cache: a deletion shows at once
    if system is None:
        raise SystemNotFound(system_id)
    return system


@router.delete(
    "/{system_id}",
    status_code=202,
    response_model=SystemDeleted,
    responses={404: {"description": "Unknown system"}},
)
async def delete_system(
    system_id: SystemId, _: AdminCaller, lifecycle: LifecycleDep
) -> SystemDeleted:
    """Delete a system (admin): it is gone from the API at once (404), its keys and channels are
    revoked, and a job removes its data. Events still queued for it are dropped. Its name is free
    again; its id is never reused."""
    deleted = await lifecycle.delete(system_id)
    return SystemDeleted(system_id=system_id, name=deleted.system.name, purge_job=deleted.purge_job)
