"""The two ingest baselines LSO is measured against, in the same run and on the same store.

    uvicorn bench.baselines:floor   # bare ASGI: XADD the raw body, no parsing at all
    uvicorn bench.baselines:naive   # FastAPI handler, pydantic request model, one XADD

Both read the store's URL from LSO_REDIS_URL and append to `bench:{floor}` / `bench:{naive}`
(trimmed to the last 100 000 entries, so a long run does not fill the store), then answer 202.
"""

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

import redis.asyncio as aioredis
from fastapi import FastAPI
from pydantic import AwareDatetime, BaseModel, Field

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MAXLEN = 100_000


def _client() -> aioredis.Redis:
    return aioredis.Redis.from_url(os.environ["LSO_REDIS_URL"])


class _Floor:
    """The least an HTTP ingest endpoint can do: read the body, append it, answer."""

    def __init__(self) -> None:
        self.client: aioredis.Redis | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self.client is None:
            self.client = _client()
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        await self.client.xadd("bench:{floor}", {"b": b"".join(chunks)}, maxlen=_MAXLEN)
        await send({"type": "http.response.start", "status": 202,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b'{"accepted":true}'})


floor = _Floor()


class NaiveEvent(BaseModel):
    ts: AwareDatetime
    event_type: str = Field(min_length=1, max_length=64)
    status: Literal["ok", "error"] = "ok"
    latency_ms: float = Field(ge=0)
    stage: str | None = None
    run_id: str | None = None
    event_id: str | None = None
    payload: dict[str, Any] | None = None


class NaiveBatch(BaseModel):
    events: list[NaiveEvent] = Field(min_length=1, max_length=5000)


naive = FastAPI()
_naive_client: list[aioredis.Redis] = []


@naive.post("/systems/{system_id}/events", status_code=202)
async def naive_ingest(system_id: int, batch: NaiveBatch) -> dict[str, int]:
    if not _naive_client:
        _naive_client.append(_client())
    await _naive_client[0].xadd(
        "bench:{naive}", {"s": system_id, "e": batch.model_dump_json()}, maxlen=_MAXLEN
    )
    return {"accepted": len(batch.events)}
