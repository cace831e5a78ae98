"""Plain ping URLs without FastAPI's routing and dependency solving (as the ingest fast path).

A cron fleet pings one event per request, so the per-request overhead is most of a ping's cost:
matching the path against every route and solving the route's dependencies cost about as much
as the ping's own work. This answers `GET|POST /ping/{key}[/start|/fail|/log|/<0-255>]` without
a query string by calling the same `Ping.answer` as the routes; anything else (HEAD, `?rid=`, a
malformed suffix) goes to the routes in api/routes/pings.py, which stay the documented
endpoints and validate the unusual forms.
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from api.routes.pings import Ping
from shared.adapters.pings import Signal, signal_of_exit_status

_PREFIX = "/ping/"
_SIGNALS = {"start": Signal.START, "fail": Signal.FAIL, "log": Signal.LOG}
MAX_KEY_CHARS = 128


class PingFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.handled = 0  # for tests and diagnostics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = _plain_ping(scope)
        if plain is None:
            await self.app(scope, receive, send)
            return
        self.handled += 1
        key, signal, exit_status = plain
        state = scope["app"].state
        request = Request(scope, receive)
        ping = Ping(key, request, state.authenticator, state.ingest, state.run_starts,
                    state.clock(), None)  # fmt: skip

        async def call() -> Response:
            return await ping.answer(signal, exit_status)

        response = await errors.answered(call)
        await response(scope, receive, send)


def _plain_ping(scope: Scope) -> tuple[str, Signal, int | None] | None:
    """(key, signal, exit status) of a plain ping request, else None."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "POST") or scope["query_string"]:
        return None
    path: str = scope["path"]
    if not path.startswith(_PREFIX):
        return None
    key, _, suffix = path[len(_PREFIX) :].partition("/")
    if not key or len(key) > MAX_KEY_CHARS or "/" in suffix:
        return None
    if not suffix:
        return key, Signal.SUCCESS, None
    if suffix in _SIGNALS:
        return key, _SIGNALS[suffix], None
    if suffix.isascii() and suffix.isdigit() and len(suffix) <= 3 and int(suffix) <= 255:
        return key, signal_of_exit_status(int(suffix)), int(suffix)
    return None
