"""A bound on the requests one API process works on at once.

Past LSO_MAX_CONCURRENT_REQUESTS a request waits for a turn, up to LSO_REDIS_TIMEOUT_MS, then gets
503 with `Retry-After`: a burst of connections queues briefly instead of piling up work (parsed
bodies, store calls) that makes every request slower. Liveness is never queued (`/livez`), so a
busy process is not taken for a dead one.
"""

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = frozenset({"/livez"})
BUSY = {
    "type": "http.response.start",
    "status": 503,
    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
}
BUSY_BODY = b'{"detail":"too many requests in progress; retry later"}'


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, max_requests: int, wait_s: float) -> None:
        self.app = app
        self._slots = asyncio.Semaphore(max_requests)
        self._wait_s = wait_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait_s)
        except TimeoutError:
            await send(BUSY)
            await send({"type": "http.response.body", "body": BUSY_BODY})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()
