"""API keys (admin): a system's keys (ingest, read, ping) and namespace keys; create, list and
revoke."""

from fastapi import APIRouter, HTTPException, Response

from api import auth
from api.auth import CallerDep
from api.deps import AdminCaller, AdministeredSystem, AuthenticatorDep, RegistryDep, SystemId
from api.schemas.keys import CurrentKey, KeyCreate, KeyInfo, KeyList, NamespaceKeyCreate, NewKey

router = APIRouter(tags=["keys"])


@router.post("/keys", status_code=201, response_model=NewKey)
async def create_namespace_key(
    body: NamespaceKeyCreate, _: AdminCaller, authenticator: AuthenticatorDep
) -> NewKey:
    """A namespace key (admin): it may create systems named `<namespace>/…` and send events to
    them (natively, by OpenLineage or OTLP), and nothing else. The token is in this answer only."""
    token, record = await authenticator.store.create("namespace", [], body.name, body.namespace)
    return NewKey(token=token, **record.model_dump())


@router.get("/keys", response_model=KeyList)
async def read_all_keys(_: AdminCaller, authenticator: AuthenticatorDep) -> KeyList:
    """Every key: prefixes and metadata, never tokens (admin)."""
    return KeyList(keys=[KeyInfo(**r.model_dump()) for r in await authenticator.store.all()])


@router.get("/keys/current", response_model=CurrentKey,
            responses={401: {"description": "No key, or not a valid one"}})  # fmt: skip
async def read_current_key(caller: CallerDep) -> CurrentKey:
    """The key this request carries, of any kind: what it is and which systems it may use (how
    the dashboard tells an admin key from a read key when someone signs in)."""
    p = auth.known(caller)
    systems = None if p.kind == "admin" else sorted(p.systems)
    return CurrentKey(kind=p.kind, key_id=p.key_id, systems=systems, namespace=p.namespace)


@router.delete("/keys/{key_id}", status_code=204,
               responses={404: {"description": "Unknown key"}})  # fmt: skip
async def delete_any_key(key_id: str, _: AdminCaller, authenticator: AuthenticatorDep) -> Response:
    """Revoke any key (admin), refused on every API replica within a second."""
    if not await authenticator.store.revoke(None, key_id):
        raise HTTPException(404, f"key {key_id} not found")
    return Response(status_code=204)


@router.post("/systems/{system_id}/keys", status_code=201, response_model=NewKey,
             responses={404: {"description": "Unknown system"}})  # fmt: skip
async def create_key(
    system_id: SystemId,
    body: KeyCreate,
    _: AdministeredSystem,
    registry: RegistryDep,
    authenticator: AuthenticatorDep,
) -> NewKey:
    """A new ingest, read or ping key (admin). The token is in this answer only."""
    systems = [system_id] if body.kind != "read" or not body.systems else body.systems
    for other in set(systems) - {system_id}:
        await registry.require(other)
    token, record = await authenticator.store.create(body.kind, systems, body.name)
    return NewKey(token=token, **record.model_dump())


@router.get(
    "/systems/{system_id}/keys",
    response_model=KeyList,
    responses={404: {"description": "Unknown system"}},
)
async def read_keys(
    system_id: SystemId, _: AdministeredSystem, authenticator: AuthenticatorDep
) -> KeyList:
    """Keys scoped to the system: prefixes and metadata, never tokens (admin)."""
    records = await authenticator.store.for_system(system_id)
    return KeyList(keys=[KeyInfo(**r.model_dump()) for r in records])


@router.delete(
    "/systems/{system_id}/keys/{key_id}",
    status_code=204,
    responses={404: {"description": "Unknown key"}},
)
async def delete_key(
    system_id: SystemId,
    key_id: str,
    _: AdministeredSystem,
    authenticator: AuthenticatorDep,
) -> Response:
    """Revoke a key (admin): refused on every API replica within a second."""
    if not await authenticator.store.revoke(system_id, key_id):
        raise HTTPException(404, f"key {key_id} not found")
    return Response(status_code=204)
