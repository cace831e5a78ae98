"""Requests by route and status, and their latencies, for `GET /metrics` (counted in this
process's tally, shared/services/tally.py, which adds them to the store once a second).

It wraps the middlewares that answer before FastAPI's routing (the fast paths, the health memo,
the probe pacer), so their requests count too: each of those names its route template in the
scope under ROUTE; a routed request carries its route in `scope["route"]`. A request no route
matched is counted as UNMATCHED, never by its path, so that the figures stay bounded whatever
paths clients try. The cost per request is a clock read, a wrapped `send` and three dict
operations; nothing is awaited.
"""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.services.tally import Tally

ROUTE = "lso.route"  # scope key: the route template of a request answered before routing
UNMATCHED = "unmatched"


def route_of(scope: Scope) -> str:
    """The route template a request was answered by, or UNMATCHED."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path_format", UNMATCHED))
    return str(scope.get(ROUTE, UNMATCHED))


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server sends when the app ends without answering

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            tally: Tally | None = getattr(scope["app"].state, "tally", None)
            if tally is not None:  # None before the lifespan built it
                tally.request(scope["method"], route_of(scope), status,
                              time.perf_counter() - started)  # fmt: skip
