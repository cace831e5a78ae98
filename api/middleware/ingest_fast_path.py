"""`POST /systems/{id}/events` without FastAPI's routing and dependency solving.

The ingest route is the hot path of the service, and for a 100-event batch FastAPI's own work
(routing, dependency solving, the exception middleware) cost about as much as validating and
appending the batch. This middleware answers the plain form of the request — no query string, no
Idempotency-Key header, a system id in range — by calling the same `accept` as the route, and maps
exceptions to the same responses as the app's handlers (api/errors.py). Everything else goes to
the FastAPI route, which stays the documented endpoint and validates the unusual forms.
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from api.middleware.system_paths import system_id_of
from api.routes.events import accept


class IngestFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.handled = 0  # for tests and diagnostics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        system_id = _plain_ingest(scope)
        if system_id is None:
            await self.app(scope, receive, send)
            return
        self.handled += 1
        request = Request(scope, receive)
        state = scope["app"].state

        async def call() -> Response:
            caller = await state.authenticator.principal(request)
            return await accept(
                state.ingest, state.settings, system_id, request, caller, state.clock(), None
            )

        response = await errors.answered(call)
        await response(scope, receive, send)


def _plain_ingest(scope: Scope) -> int | None:
    """The system id of a plain `POST /systems/{id}/events`, else None."""
    system_id = system_id_of(scope, "POST", "events")
    if system_id is None or scope["query_string"]:
        return None
    if any(name == b"idempotency-key" for name, _ in scope["headers"]):
        return None
    return system_id
