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
from starlette.types import Scope

from api.middleware.fast_path import Answer, FastPath
from api.routes.pings import Ping
from shared.adapters.pings import Signal, signal_of_exit_status

_PREFIX = "/ping/"
_SIGNALS = {"start": Signal.START, "fail": Signal.FAIL, "log": Signal.LOG}
MAX_KEY_CHARS = 128


class PingFastPath(FastPath):
    def route_of(self, scope: Scope) -> str:
        """The template of the ping route this answers for (api/routes/pings.py)."""
        _, _, suffix = scope["path"][len(_PREFIX) :].partition("/")
        if suffix and suffix not in _SIGNALS:
            suffix = "{exit_status}"
        return _PREFIX + "{ping_key}" + ("/" + suffix if suffix else "")

    def answer_for(self, scope: Scope) -> Answer | None:
        plain = _plain_ping(scope)
        if plain is None:
            return None
        key, signal, exit_status = plain

        async def answer(request: Request) -> Response:
            state = request.app.state
            ping = Ping(key, request, state.authenticator, state.ingest, state.run_starts,
                        state.clock(), None)  # fmt: skip
            return await ping.answer(signal, exit_status)

        return answer


def _plain_ping(scope: Scope) -> tuple[str, Signal, int | None] | None:
    """(key, signal, exit status) of a plain ping request, else None."""
    if scope["method"] not in ("GET", "POST") or scope["query_string"]:
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
