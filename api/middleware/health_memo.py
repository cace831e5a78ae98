"""Exact memoization of `GET /systems/{id}/health`: a read that could only repeat the previous
answer is served from memory, before FastAPI's routing, validation and the counter reads.

An answer depends on the request (path, query, credentials), on the second it is computed for
(the window ends at the current second), and on the system's data and policy. The worker bumps
the field `v` of the system's meta hash in every apply script, and a policy change bumps it too,
so `(second, v)` identifies the data: the memo keeps the last answer per request and serves it
again only within the same second and while `HGET meta v` (one round trip) still returns the
version read *before* that answer was computed. A write that lands while an answer is computed
makes the stored version older than the data it saw, which can only cause a recomputation, never
a stale answer. Only 200 answers are kept; credentials are part of the key,
so a key revoked in the store stops being served within the second (the key cache's bound).

Many dashboards and load balancers polling one system then cost one HGET each, whatever the
number of events in the window; a system that keeps changing is recomputed on every read.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware.request_metrics import ROUTE
from api.middleware.system_paths import route_template, system_id_of
from shared.store import keys
from shared.store.client import AsyncRedis

MAX_ENTRIES = 10_000

Key = tuple[str, bytes, bytes, bytes]  # path, query string, authorization, x-api-key
MemoEntry = tuple[
    int, bytes | None, int, list[Any], bytes
]  # second, version, status, headers, body


class HealthMemo:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._entries: dict[Key, MemoEntry] = {}
        # Answers being computed: requests for the same key, second and version wait for the one
        # in flight instead of computing it again (many pollers turn a second over together).
        self._flights: dict[Key, tuple[int, bytes | None, asyncio.Future[MemoEntry | None]]] = {}
        self.hits = 0  # for tests and diagnostics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        system_id = system_id_of(scope, "GET", "health")
        # Probes have their own cache in the route, which answers without a store round trip.
        if system_id is None or b"probe=" in scope["query_string"]:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        client: AsyncRedis = state.redis
        clock: Callable[[], datetime] = state.clock
        headers = dict(scope["headers"])
        key: Key = (scope["path"], scope["query_string"], headers.get(b"authorization", b""),
                    headers.get(b"x-api-key", b""))  # fmt: skip
        second = int(clock().timestamp())
        partition = state.partitions.known(system_id)
        if partition is None:
            await self.app(scope, receive, send)
            return
        try:
            raw = await client.hget(keys.system_meta(partition, system_id), keys.Meta.VERSION)
            version = raw.encode() if isinstance(raw, str) else raw
        except RedisError:
            await self.app(scope, receive, send)  # the route answers 503 with Retry-After
            return
        entry = self._entries.get(key)
        if entry is None or entry[0] != second or entry[1] != version:
            flight = self._flights.get(key)
            if flight is not None and flight[:2] == (second, version):
                entry = await asyncio.shield(flight[2])
        if entry is not None and entry[0] == second and entry[1] == version:
            self.hits += 1
            scope[ROUTE] = route_template("health")
            await _replay(entry, send)
            return
        done: asyncio.Future[MemoEntry | None] = asyncio.get_running_loop().create_future()
        self._flights[key] = (second, version, done)
        try:
            await self.app(scope, receive, self._recorder(key, second, version, send))
        finally:
            if not done.done():
                done.set_result(self._entries.get(key))
            if self._flights.get(key, (0, None, None))[2] is done:
                del self._flights[key]

    def _recorder(self, key: Key, second: int, version: bytes | None, send: Send) -> Send:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and started.get("status") == 200:
                    if len(self._entries) >= MAX_ENTRIES:
                        self._entries.clear()
                    headers = list(started.get("headers", []))
                    self._entries[key] = (second, version, 200, headers, b"".join(chunks))
            await send(message)

        return record


async def _replay(entry: MemoEntry, send: Send) -> None:
    _, _, status, headers, body = entry
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
