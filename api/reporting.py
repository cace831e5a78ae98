"""The system a report names: how the adapters that name systems (OpenLineage, OTLP) and the
SDK's lookup by name find it, creating it when the caller may."""

from fastapi import HTTPException
from pydantic import TypeAdapter, ValidationError

from api import auth
from shared.model.systems import SystemName
from shared.services.lifecycle import Lifecycle
from shared.services.registry import Registry

_NAME = TypeAdapter(SystemName)


class BadSystemName(ValueError):
    """The name cannot be a system's: the adapter answers it in its own error shape."""


async def reporting_system(
    caller: auth.Principal | None, name: str, registry: Registry, lifecycle: Lifecycle
) -> int:
    """The id of the system named `name`, for a caller about to send events to it.

    An admin or namespace key creates a system it may report to on first use (a namespace key:
    only names "<namespace>/…"); an ingest key reports to its own system only. Raises 401/403/404
    as HTTPException, and BadSystemName for a name no system can have.
    """
    p = auth.known(caller)
    if p.kind not in ("admin", "ingest", "namespace"):
        raise HTTPException(403, f"a {p.kind} key may not send events")
    if p.kind == "namespace" and not p.owns_name(name):
        raise HTTPException(403, f"this key may only report to systems named '{p.namespace}/...'")
    system_id = await registry.id_of(name)
    if system_id is not None:
        if p.kind == "ingest" and system_id not in p.systems:
            raise HTTPException(404, f"system {name!r} not found")
        return system_id
    if p.kind == "ingest":
        raise HTTPException(404, f"system {name!r} not found")
    try:
        _NAME.validate_python(name)
    except ValidationError as exc:
        raise BadSystemName(exc.errors()[0]["msg"]) from None
    registered = await lifecycle.register(name, None, None, first_key=False)
    return registered.system.system_id
