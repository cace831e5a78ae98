"""`POST /api/v1/lineage` without FastAPI's routing and dependency solving (as the ingest and
ping fast paths): one event per request, so the per-request overhead is most of its cost. The
request with a query string goes to the route in api/routes/lineage.py, which stays the
documented endpoint; both call `take_run_event`."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from api.routes.lineage import LINEAGE_PATH, take_run_event


class LineageFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.handled = 0  # for tests and diagnostics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == LINEAGE_PATH
            and not scope["query_string"]
        )
        if not plain:
            await self.app(scope, receive, send)
            return
        self.handled += 1
        request = Request(scope, receive)
        state = scope["app"].state

        async def call() -> Response:
            caller = await state.authenticator.principal(request)
            return await take_run_event(request, caller, state.clock())

        response = await errors.answered(call)
        await response(scope, receive, send)
