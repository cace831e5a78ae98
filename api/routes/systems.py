"""Systems: register, list, read and delete (shared/services/lifecycle.py)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from api import auth
from api.auth import CallerDep
from api.deps import AdminCaller, LifecycleDep, RegistryDep, SettingsDep, SystemId
from api.paging import NamePrefix, PageLimit, cursor_query
from api.schemas.keys import NewKey, SystemCreated
from api.schemas.systems import (
    System,
    SystemCreate,
    SystemDeleted,
    SystemList,
    SystemRegistered,
    SystemsCreate,
    SystemsRegistered,
)
from shared.errors import InvalidInput, SystemNotFound
from shared.model.policy import resolve_new

router = APIRouter(prefix="/systems", tags=["systems"])


@router.post(
    "",
    status_code=201,
    response_model=SystemCreated,
    responses={200: {"model": System, "description": "Already registered under that name"}},
)
async def create_system(
    body: SystemCreate, caller: CallerDep, lifecycle: LifecycleDep, settings: SettingsDep
) -> JSONResponse:
    """Register a system (admin, or a namespace key for a name `<namespace>/…`, without a
    policy). Idempotent by name: the same name again returns the existing system (a `policy` in
    the body is set in both cases)."""
    p = auth.known(caller)
    if p.kind == "namespace":
        if not p.owns_name(body.name):
            raise HTTPException(403, f"this key may only create systems named '{p.namespace}/...'")
        if body.policy is not None:
            raise HTTPException(403, "a namespace key may not set a policy")
    else:
        auth.admin(p)
    if body.policy is not None:
        resolve_new(body.policy, settings)  # 422 before anything is stored
    registered = await lifecycle.register(body.name, body.description, body.policy)
    system = registered.system
    if not registered.created or registered.first_key is None:
        return JSONResponse(system.model_dump(mode="json"), status_code=200)
    token, record = registered.first_key
    answer = SystemCreated(
        **system.model_dump(), ingest_key=NewKey(token=token, **record.model_dump())
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=201)


@router.post(
    "/bulk",
    response_model=SystemsRegistered,
    responses={403: {"description": "Not an admin key"},
               422: {"description": "An invalid item (`loc` names its index), or over 1000"}},
)  # fmt: skip
async def create_systems(
    body: SystemsCreate, caller: CallerDep, lifecycle: LifecycleDep, settings: SettingsDep
) -> SystemsRegistered:
    """Register up to 1000 systems in one request (admin), each as `POST /systems` would but
    without a first key, idempotently by name; a name given twice is registered once."""
    auth.admin(auth.known(caller))
    problems = []
    for i, item in enumerate(body.systems):
        if item.policy is not None:
            try:
                resolve_new(item.policy, settings)
            except InvalidInput as exc:
                problems += [{**e, "loc": ("body", "systems", i, *e["loc"][1:])}
                             for e in exc.errors()]  # fmt: skip
    if problems:
        raise InvalidInput(problems)
    items = [(s.name, s.description, s.policy) for s in body.systems]
    registered = await lifecycle.register_many(items)
    return SystemsRegistered(systems=[
        SystemRegistered(system_id=r.system.system_id, name=r.system.name, created=r.created)
        for r in registered
    ])  # fmt: skip


@router.get(
    "", response_model=SystemList, responses={422: {"description": "A bad limit or cursor"}}
)
async def read_systems(
    caller: CallerDep,
    registry: RegistryDep,
    prefix: NamePrefix = None,
    limit: PageLimit = None,
    cursor: Annotated[str | None, cursor_query(r"^\d{1,18}$")] = None,
) -> SystemList:
    """The systems the caller may read, by id; paged with `limit` and `cursor`."""
    reader = auth.readers_only(caller)
    after = -1 if cursor is None else int(cursor)
    found = [
        s for s in await registry.list()
        if s.system_id > after and reader.sees(s.system_id)
        and (prefix is None or s.name.startswith(prefix))
    ]  # fmt: skip
    if limit is not None and len(found) > limit:
        return SystemList(systems=found[:limit], next_cursor=str(found[limit - 1].system_id))
    return SystemList(systems=found)


@router.get(
    "/by-name/{name:path}",
    response_model=System,
    responses={404: {"description": "No system of that name that this key may use"}},
)
async def read_system_by_name(
    name: Annotated[str, PathParam(max_length=128)], caller: CallerDep, registry: RegistryDep
) -> System:
    """The system of that name, for any key that may send events to it or read it (how clients
    that know systems by name, like the SDK, find the id). Creates nothing: `POST /systems`."""
    p = auth.known(caller)
    system_id = await registry.id_of(name)
    system = None if system_id is None else await registry.get(system_id)
    may = system is not None and (p.owns_name(system.name) or p.sees(system.system_id))
    if system is None or not may or p.kind == "ping":
        raise HTTPException(404, f"system {name!r} not found")
    return system


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
