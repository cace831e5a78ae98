"""Public health probes (`GET|HEAD /systems/{id}/health?probe=1` without a key), paced and served
from the route's cache before FastAPI's routing.

A probe answers without a key (LSO_PUBLIC_PROBES), so anyone can flood it: 300 connections polling
it in a loop left another tenant's ingest at a hundredth of its rate, because every probe took its
turn in the event loop. So probes without a key, together, get at most LSO_PROBE_RATE_PER_S answers
a second in this process: past that, each waits for its turn (a timer, no work; never a 503, which
a load balancer would read as "unhealthy"). A load balancer polling every second is never slowed;
a flood's closed loop is slowed to that rate. A fresh cached answer is sent from here; the rest
goes to the route, which reads the health and fills the cache (api/routes/health.py).
"""

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api.middleware.request_metrics import ROUTE
from api.middleware.system_paths import route_template, system_id_of

PLAIN_PROBE = (b"probe=1", b"probe=true")
BURST_S = 0.25  # answers that may go out at once, in seconds of the rate


class ProbePacer:
    def __init__(self, app: ASGIApp, rate_per_s: float) -> None:
        self.app = app
        self._rate = rate_per_s
        self._capacity = max(rate_per_s * BURST_S, 1.0)
        self._tokens = self._capacity
        self._at = time.monotonic()
        self.served = 0  # answered from the cache here (tests, diagnostics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["query_string"] not in PLAIN_PROBE:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        system_id = system_id_of(scope, "GET" if method == "GET" else "HEAD", "health")
        state = scope["app"].state
        if system_id is None or not state.settings.public_probes or _has_key(scope):
            await self.app(scope, receive, send)
            return
        await self._turn()
        cached: tuple[float, int, bytes] | None = state.probe_cache.get((system_id, None))
        if cached is None or cached[0] <= time.monotonic():
            await self.app(scope, receive, send)
            return
        self.served += 1
        scope[ROUTE] = route_template("health")
        headers: list[Any] = [(b"content-type", b"application/json"),
                              (b"cache-control", b"no-store")]  # fmt: skip
        body = b"" if method == "HEAD" else cached[2]
        headers.append((b"content-length", str(len(cached[2])).encode()))
        await send({"type": "http.response.start", "status": cached[1], "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _turn(self) -> None:
        """Take one answer's token, waiting for it when there is none (tokens may go negative:
        each waiter sleeps until the token it took is refilled)."""
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        self._tokens -= 1
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self._rate)


def _has_key(scope: Scope) -> bool:
    """A caller with a key is not paced: a flood needs no key, a monitored fleet may use one."""
    return any(name in (b"authorization", b"x-api-key") for name, _ in scope["headers"])
