"""Exception handlers: every domain error mapped to its status in this one place, and a store
outage a 503 with Retry-After, never a 500."""

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.exceptions as rex
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from shared.errors import (
    BadRequest,
    DomainError,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    Overloaded,
    PolicyConflict,
    RateLimited,
    RetryLater,
    StoreNotDurable,
    StoreTooSlow,
    SystemNotFound,
)

log = logging.getLogger("lso.api")

RETRY_AFTER_S = 1
# Server replies that mean "not now" rather than "wrong": memory full, read-only replica during a
# failover, still loading its data, cluster re-sharding.
_TRANSIENT_REPLIES = ("OOM", "READONLY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")


def is_store_unavailable(exc: Exception) -> bool:
    if isinstance(exc, rex.ConnectionError | rex.TimeoutError | rex.BusyLoadingError):
        return True
    return isinstance(exc, rex.ResponseError) and str(exc).startswith(_TRANSIENT_REPLIES)


@dataclass(frozen=True)
class Refusal:
    """How a refusal is answered, whatever the body's shape (JSON here, google.rpc.Status for
    OTLP): status, detail and headers (`Retry-After` for a "not now")."""

    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


def retry_after(retry_after_s: float) -> dict[str, str]:
    """The `Retry-After` header: whole seconds, at least 1."""
    return {"Retry-After": str(max(1, math.ceil(retry_after_s)))}


def retry_later(status_code: int, detail: str, retry_after_s: float) -> JSONResponse:
    """A 429 or 503 telling the client when to retry."""
    return JSONResponse({"detail": detail}, status_code=status_code,
                        headers=retry_after(retry_after_s))  # fmt: skip


def store_unavailable(exc: Exception) -> Refusal:
    log.warning("store unavailable: %s: %s", type(exc).__name__, exc)
    return Refusal(503, "the store is unavailable; retry later", retry_after(RETRY_AFTER_S))


def store_unavailable_response(exc: Exception) -> JSONResponse:
    refused = store_unavailable(exc)
    return JSONResponse({"detail": refused.detail}, refused.status, refused.headers)


async def _on_redis_error(request: Request, exc: Exception) -> JSONResponse:
    if is_store_unavailable(exc):
        return store_unavailable_response(exc)
    raise exc


def _invalid(errors: Sequence[dict[str, Any]], complete: bool = True) -> Response:
    # The offending input is not echoed back: it can be large, and it is the client's data.
    detail = [{k: v for k, v in error.items() if k not in ("input", "url")} for error in errors]
    body: dict[str, Any] = {"detail": detail}
    if not complete:  # validation stopped at its cap: say so, so nobody takes the list as all
        body["truncated"] = True
    # orjson, not jsonable_encoder: a hundred errors cost ~3 ms that way, on the path a hostile
    # client can drive; `str` renders what JSON has no type for (an exception in `ctx`).
    content = orjson.dumps(body, default=str)
    return Response(content, status_code=422, media_type="application/json")


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _invalid(exc.errors())


# Status of each domain error; the first class in this order that matches wins.
_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (SystemNotFound, 404),
    (NotFound, 404),
    (BadRequest, 422),
    (PolicyConflict, 409),
    (RateLimited, 429),
    (Overloaded, 503),
    (StoreTooSlow, 503),
    (OutcomeUnknown, 503),
)


def refusal(exc: DomainError) -> Refusal:
    """The answer to any domain error but InvalidInput (whose body lists its errors)."""
    if isinstance(exc, StoreNotDurable):
        log.error("durable ack failed: %s", exc)
        detail = f"the batch could not be confirmed durable: {exc}"
        return Refusal(503, detail, retry_after(RETRY_AFTER_S))
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    if isinstance(exc, RetryLater):
        return Refusal(status, exc.detail, retry_after(exc.retry_after_s))
    return Refusal(status, exc.detail)


def domain_response(exc: DomainError) -> Response:
    """The answer to a domain error (the app's handler and the fast paths share it)."""
    if isinstance(exc, InvalidInput):
        return _invalid(exc.errors(), exc.complete)
    refused = refusal(exc)
    return JSONResponse({"detail": refused.detail}, refused.status, refused.headers or None)


async def answered(call: Callable[[], Awaitable[Response]]) -> Response:
    """`call()`'s response, or the one the app's handlers would give for its exception: for the
    fast paths (api/middleware/) that answer before FastAPI's routing and exception handling."""
    try:
        return await call()
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)  # fmt: skip
    except DomainError as exc:
        return domain_response(exc)
    except rex.RedisError as exc:
        if not is_store_unavailable(exc):
            raise
        return store_unavailable_response(exc)


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return domain_response(exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(rex.RedisError, _on_redis_error)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
