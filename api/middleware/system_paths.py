"""Recognising `/systems/{id}/<resource>` in a raw ASGI scope, for the middlewares that answer
before FastAPI's routing (api/middleware/health_memo.py, api/middleware/ingest_fast_path.py)."""

from starlette.types import Scope

_PREFIX = "/systems/"
_MAX_SYSTEM_ID = 2**53


def system_id_of(scope: Scope, method: str, resource: str) -> int | None:
    """The id in an HTTP `<method> /systems/{id}/<resource>`, else None (also for an id that
    the route would refuse, which then answers it)."""
    if scope["type"] != "http" or scope["method"] != method:
        return None
    path: str = scope["path"]
    suffix = "/" + resource
    if not (path.startswith(_PREFIX) and path.endswith(suffix)):
        return None
    digits = path[len(_PREFIX) : -len(suffix)]
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 16:
        return None
    system_id = int(digits)
    return system_id if 1 <= system_id <= _MAX_SYSTEM_ID else None


def route_template(resource: str) -> str:
    """The route template of `/systems/{id}/<resource>`, as FastAPI names the route."""
    return _PREFIX + "{system_id}/" + resource
