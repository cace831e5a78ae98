"""API keys of a system (admin): create, list and revoke."""

from fastapi import APIRouter, HTTPException, Response

from api.deps import AdministeredSystem, AuthenticatorDep, RegistryDep, SystemId
from api.schemas.keys import KeyCreate, KeyInfo, KeyList, NewKey

router = APIRouter(prefix="/systems/{system_id}/keys", tags=["keys"])


@router.post("", status_code=201, response_model=NewKey,
             responses={404: {"description": "Unknown system"}})  # fmt: skip
async def create_key(
    system_id: SystemId,
    body: KeyCreate,
    _: AdministeredSystem,
    registry: RegistryDep,
    authenticator: AuthenticatorDep,
) -> NewKey:
    """A new ingest or read key (admin). The token is in this answer only."""
    systems = [system_id] if body.kind == "ingest" or not body.systems else body.systems
    for other in set(systems) - {system_id}:
        await registry.require(other)
    token, record = await authenticator.store.create(body.kind, systems, body.name)
    return NewKey(token=token, **record.model_dump())


@router.get("", response_model=KeyList, responses={404: {"description": "Unknown system"}})
async def read_keys(
    system_id: SystemId, _: AdministeredSystem, authenticator: AuthenticatorDep
) -> KeyList:
    """Keys scoped to the system: prefixes and metadata, never tokens (admin)."""
    records = await authenticator.store.for_system(system_id)
    return KeyList(keys=[KeyInfo(**r.model_dump()) for r in records])


@router.delete("/{key_id}", status_code=204, responses={404: {"description": "Unknown key"}})
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
