"""Who needs a key, as the OpenAPI document says it: one HTTP bearer scheme, declared on every
operation that reads the caller's key, so that Swagger UI (`/docs`) shows "Authorize" and its
"Try it out" sends the key.

Which operations read a key is derived from the routes, not listed by hand, so that a new route
is documented as it behaves:
- an operation reads a key when its dependencies include the caller (`api.auth.CallerDep`, on
  which every authorizing alias of api/deps.py is built), or when its handler reads the key
  itself and says so with `@reads_key` (OTLP, which answers refusals in its own encoding);
- an operation marked `@public_probe` reads a key but answers without one under
  LSO_PUBLIC_PROBES: its requirement then lists the empty one too (OpenAPI's "optional");
- with LSO_AUTH=off nobody needs a key, and the document declares no scheme.
Ping URLs carry their key in the path and read none from the headers: they declare nothing.
tests/api/test_openapi_security.py checks the declaration against what each operation answers.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from api.auth import CallerDep
from shared.settings import Settings

SCHEME = "bearerAuth"  # the scheme's name in components.securitySchemes
BEARER: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "An LSO API key, sent as `Authorization: Bearer <key>` (`X-Api-Key: <key>` "
    "works too). `lso up` writes the admin key to `.lso/admin-token`.",
}

H = TypeVar("H", bound=Callable[..., Any])
_READS_KEY: set[Callable[..., Any]] = set()
_PUBLIC_PROBES: set[Callable[..., Any]] = set()
# The dependency behind CallerDep (`Annotated[Principal | None, Depends(<this>)]`).
_CALLER: Callable[..., Any] = get_args(CallerDep)[1].dependency


def reads_key(handler: H) -> H:
    """Marks a handler that reads the caller's key itself, without CallerDep."""
    _READS_KEY.add(handler)
    return handler


def public_probe(handler: H) -> H:
    """Marks a handler that answers without a key under LSO_PUBLIC_PROBES."""
    _PUBLIC_PROBES.add(handler)
    return handler


def declare_security(app: FastAPI, settings: Settings) -> None:
    """Make the document `app.openapi()` generates declare the scheme and, on each operation,
    whether it needs a key. Call once the routers are included."""
    if settings.auth == "off":
        return
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = generate()
        if fresh:  # generated just now: declare once, the document is then kept as it is
            _declare(schema, app.routes, settings.public_probes)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare(schema: dict[str, Any], routes: Sequence[BaseRoute], public_probes: bool) -> None:
    schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = BEARER
    # The routes as the document was built from them: included routers unfolded, each route
    # with its effective path and dependencies (those of its routers too).
    for route in iter_route_contexts(routes):
        if not (isinstance(route.original_route, APIRoute) and route.include_in_schema):
            continue
        if not (route.endpoint in _READS_KEY or _depends_on_caller(route.dependant)):
            continue
        optional = public_probes and route.endpoint in _PUBLIC_PROBES
        operations = schema["paths"][route.path_format]
        for method in route.methods or ():
            # `{}` is the requirement of no scheme at all: with it, a key is optional.
            operations[method.lower()]["security"] = [{}] * optional + [{SCHEME: []}]


def _depends_on_caller(dependant: Dependant) -> bool:
    return dependant.call is _CALLER or any(map(_depends_on_caller, dependant.dependencies))
