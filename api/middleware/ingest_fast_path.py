"""`POST /systems/{id}/events` without FastAPI's routing and dependency solving.

The ingest route is the hot path of the service, and for a 100-event batch FastAPI's own work
(routing, dependency solving, the exception middleware) cost about as much as validating and
appending the batch. This middleware answers the plain form of the request — no query string, no
Idempotency-Key header, a system id in range — by calling the same `accept` as the route
(api/middleware/fast_path.py). Everything else goes to the FastAPI route, which stays the
documented endpoint and validates the unusual forms.
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from api.middleware.fast_path import Answer, FastPath
from api.middleware.system_paths import route_template, system_id_of
from api.routes.events import accept


class IngestFastPath(FastPath):
    def route_of(self, scope: Scope) -> str:
        return route_template("events")

    def answer_for(self, scope: Scope) -> Answer | None:
        system_id = _plain_ingest(scope)
        if system_id is None:
            return None

        async def answer(request: Request) -> Response:
            state = request.app.state
            caller = await state.authenticator.principal(request)
            return await accept(
                state.ingest, state.settings, system_id, request, caller, state.clock(), None
            )

        return answer


def _plain_ingest(scope: Scope) -> int | None:
    """The system id of a plain `POST /systems/{id}/events`, else None."""
    system_id = system_id_of(scope, "POST", "events")
    if system_id is None or scope["query_string"]:
        return None
    if any(name == b"idempotency-key" for name, _ in scope["headers"]):
        return None
    return system_id
