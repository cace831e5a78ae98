"""`POST /v1/traces` and `POST /v1/logs` without FastAPI's routing and dependency solving (as the
ingest fast path): an OTLP exporter sends a batch every few seconds from every process, and for a
100-span export the framework's per-request work cost about a fifth of the export's. A request
with a query string goes to the routes in api/routes/otlp.py, which stay the documented
endpoints; both call `export`."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from api.middleware.fast_path import Answer, FastPath
from api.routes.otlp import SIGNALS, Signal, export


class OtlpFastPath(FastPath):
    def answer_for(self, scope: Scope) -> Answer | None:
        if scope["method"] != "POST" or scope["query_string"]:
            return None
        signal = SIGNALS.get(scope["path"])
        if signal is None:
            return None

        async def answer(request: Request) -> Response:
            return await _export(signal, request)

        return answer


async def _export(signal: Signal, request: Request) -> Response:
    state = request.app.state
    return await export(signal, request, state.authenticator, state.ingest, state.lifecycle,
                        state.settings, state.clock())  # fmt: skip
