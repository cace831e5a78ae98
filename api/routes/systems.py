from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from api import auth
from api.auth import CallerDep
from api.deps import (
    AdminCaller,
    AuthenticatorDep,
    ChannelsDep,
    JobsDep,
    RegistryDep,
    SettingsDep,
    SystemId,
)
from api.schemas.keys import NewKey, SystemCreated
from api.schemas.systems import System, SystemCreate, SystemDeleted, SystemList
from shared.model.policy import resolve_new

router = APIRouter(prefix="/systems", tags=["systems"])


@router.post(
    "",
    status_code=201,
    response_model=SystemCreated,
    responses={200: {"model": System, "description": "Already registered under that name"}},
)
async def create_system(
    body: SystemCreate,
    _: AdminCaller,
    registry: RegistryDep,
    settings: SettingsDep,
    authenticator: AuthenticatorDep,
) -> JSONResponse:
    """Register a system. Idempotent by name: the same name again returns the existing system
    (a `policy` in the body is set in both cases)."""
    if body.policy is not None:
        resolve_new(body.policy, settings)  # 422 before anything is stored
    created, system = await registry.register(body.name, body.description)
    if body.policy is not None:
        await registry.set_policy(system.system_id, body.policy)
    if not created:
        return JSONResponse(system.model_dump(mode="json"), status_code=200)
    token, record = await authenticator.store.create("ingest", [system.system_id], "first key")
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
    system = await registry.get(system_id)
    if system is None:
        raise HTTPException(404, f"system {system_id} not found")
    return system


@router.delete(
    "/{system_id}",
    status_code=202,
    response_model=SystemDeleted,
    responses={404: {"description": "Unknown system"}},
)
async def delete_system(
    system_id: SystemId,
    _: AdminCaller,
    registry: RegistryDep,
    authenticator: AuthenticatorDep,
    channels: ChannelsDep,
    jobs: JobsDep,
) -> SystemDeleted:
    """Delete a system (admin): it is gone from the API at once (404), its keys and channels are
    revoked, and a job removes its data. Events still queued for it are dropped. Its name is free
    again; its id is never reused."""
    deleted = await registry.delete(system_id)
    if deleted is None:
        raise HTTPException(404, f"system {system_id} not found")
    system, partition = deleted
    for key in await authenticator.store.for_system(system_id):
        if key.systems == [system_id]:
            await authenticator.store.revoke(system_id, key.key_id)
    await channels.delete_all_of(system_id)
    job_id = await jobs.purge(partition, system_id)
    return SystemDeleted(system_id=system_id, name=system.name, purge_job=job_id)
