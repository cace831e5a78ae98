"""The shape of the fast paths: a request a fast path recognises is answered before FastAPI's
routing and dependency solving, by the same function its route calls, with exceptions mapped to
the app's own responses (api/errors.py); everything else goes on to the app.

For one-event requests (pings, OpenLineage) and for ingest batches, FastAPI's routing, dependency
solving and exception middleware cost about as much as the request's own work.
"""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from api.middleware.request_metrics import ROUTE

Answer = Callable[[Request], Awaitable[Response]]


class FastPath:
    """Subclasses say which requests they answer, and how, in `answer_for`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.handled = 0  # for tests and diagnostics

    def answer_for(self, scope: Scope) -> Answer | None:
        """How to answer this HTTP request, or None to leave it to the app."""
        raise NotImplementedError

    def route_of(self, scope: Scope) -> str:
        """The route template of a request this answers, for the request figures: its path, for
        a fast path that answers fixed paths only."""
        return str(scope["path"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.answer_for(scope) if scope["type"] == "http" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        self.handled += 1
        scope[ROUTE] = self.route_of(scope)
        request = Request(scope, receive)

        async def call() -> Response:
            return await answer(request)

        response = await errors.answered(call)
        await response(scope, receive, send)
