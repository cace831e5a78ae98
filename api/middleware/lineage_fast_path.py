"""`POST /api/v1/lineage` without FastAPI's routing and dependency solving (as the ingest and
ping fast paths): one event per request, so the per-request overhead is most of its cost. The
request with a query string goes to the route in api/routes/lineage.py, which stays the
documented endpoint; both call `take_run_event`."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from api.middleware.fast_path import Answer, FastPath
from api.routes.lineage import LINEAGE_PATH, take_run_event


class LineageFastPath(FastPath):
    def answer_for(self, scope: Scope) -> Answer | None:
        plain = scope["method"] == "POST" and scope["path"] == LINEAGE_PATH
        return _answer if plain and not scope["query_string"] else None


async def _answer(request: Request) -> Response:
    state = request.app.state
    caller = await state.authenticator.principal(request)
    return await take_run_event(request, caller, state.clock())
