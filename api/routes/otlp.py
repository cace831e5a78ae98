"""OTLP/HTTP: `POST /v1/traces` and `POST /v1/logs` (shared/adapters/otlp.py; docs/otlp.md).

Answers as the OTLP/HTTP specification has them, in the encoding of the request: 200 with an
empty response, or with `partialSuccess` counting the items refused (the client must not send
those again); otherwise a google.rpc.Status: 400 undecodable, 401/403 the key, 413 too large, 415
neither protobuf nor JSON, 429 (rate limit) and 503 (overload, store down) with Retry-After.

An export is one unit for retries: a 429 or 503 for one service's events, after another's were
appended, answers the whole export, and its resending is counted once because every event carries
an id derived from its span or record (repeated ids are dropped within LSO_DEDUPE_TTL_S).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from redis.exceptions import RedisError

from api import auth, errors
from api.body import read_body
from api.deps import AuthenticatorDep, IngestDep, LifecycleDep, NowDep, SettingsDep
from api.openapi_security import reads_key
from api.reporting import BadSystemName, reporting_system
from shared.adapters import otlp, otlp_answers, otlp_decode
from shared.errors import DomainError, Overloaded, SystemNotFound
from shared.ingest.accept import Ingest
from shared.services.lifecycle import Lifecycle
from shared.settings import Settings

router = APIRouter(tags=["otlp"])

PROTOBUF, JSON = "application/x-protobuf", "application/json"
SENDERS = ("admin", "ingest", "namespace")
# google.rpc.Code of each answer, as the OpenTelemetry Collector maps HTTP statuses.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 408: 4, 413: 8, 415: 3, 429: 8, 503: 14}


@dataclass(frozen=True)
class Signal:
    translate: Callable[[bytes, bool, otlp.Bounds], otlp.Translation]
    respond: Callable[[otlp.Translation | None, bool], bytes]


TRACES = Signal(otlp.traces, otlp_answers.trace_response)
LOGS = Signal(otlp.logs, otlp_answers.logs_response)
TRACES_PATH, LOGS_PATH = "/v1/traces", "/v1/logs"
SIGNALS = {TRACES_PATH: TRACES, LOGS_PATH: LOGS}  # for api/middleware/otlp_fast_path.py


def _openapi(what: str) -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    both = {PROTOBUF: binary, JSON: {"schema": {"type": "object"}}}
    answers = {
        200: f"Accepted; `partialSuccess` counts the {what} refused, which must not be resent",
        400: "Not an OTLP request in its content type, or broken gzip",
        401: "No valid key (`Authorization: Bearer <key>`)",
        403: f"The key may not send {what}, or may report to none of the request's services",
        413: "Body larger than LSO_MAX_BODY_BYTES (compressed or not)",
        415: "Neither application/x-protobuf nor application/json, or an encoding other than gzip",
        429: "Over a system's rate limit; retry after `Retry-After` seconds",
        503: "Overloaded or store unavailable; retry after `Retry-After` seconds",
    }
    return {
        "response_class": Response,
        "responses": {code: {"description": d, "content": both} for code, d in answers.items()},
        "openapi_extra": {"requestBody": {"required": True, "content": both}},
    }


@router.post(TRACES_PATH, **_openapi("spans"))
@reads_key
async def create_traces(
    request: Request,
    authenticator: AuthenticatorDep,
    ingest: IngestDep,
    lifecycle: LifecycleDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """OTLP/HTTP traces: each span an event of the system its `service.name` names."""
    return await export(TRACES, request, authenticator, ingest, lifecycle, settings, now)


@router.post(LOGS_PATH, **_openapi("log records"))
@reads_key
async def create_logs(
    request: Request,
    authenticator: AuthenticatorDep,
    ingest: IngestDep,
    lifecycle: LifecycleDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """OTLP/HTTP logs: each log record an event (an error at severity ERROR and above)."""
    return await export(LOGS, request, authenticator, ingest, lifecycle, settings, now)


async def export(
    signal: Signal,
    request: Request,
    authenticator: auth.Authenticator,
    ingest: Ingest,
    lifecycle: Lifecycle,
    settings: Settings,
    now: datetime,
) -> Response:
    as_json = _encoding(request.headers.get("content-type"))
    try:
        caller = auth.known(await authenticator.principal(request))
        if caller.kind not in SENDERS:
            raise HTTPException(403, f"a {caller.kind} key may not send events")
        if as_json is None:
            raise HTTPException(415, f"content type must be {PROTOBUF} or {JSON}")
        backlog = await ingest.readiness.backlog()
        if not backlog.ok:  # shed before reading a body, as native ingest does
            raise Overloaded(
                f"overloaded: {backlog.events} events wait to be applied", backlog.retry_after_s()
            )
        body = await read_body(request, settings.max_body_bytes)
        try:
            translation = signal.translate(body, as_json, otlp.Bounds.of(settings, now))
        except otlp_decode.Undecodable as exc:
            raise HTTPException(400, str(exc)) from None
        del body
        accepted = await _append(translation, caller, ingest, lifecycle, settings)
        if not accepted and translation.rejected == translation.refused_by_key > 0:
            # Nothing could go anywhere because of the key: the key is wrong, not the data.
            raise HTTPException(403, translation.message())
    except HTTPException as exc:
        return _error(exc.status_code, str(exc.detail), as_json, exc.headers)
    except DomainError as exc:  # "not now" (429/503 with Retry-After), or a deletion meanwhile
        refused = errors.refusal(exc)
        return _error(refused.status, refused.detail, as_json, refused.headers)
    except RedisError as exc:
        if not errors.is_store_unavailable(exc):
            raise
        refused = errors.store_unavailable(exc)
        return _error(refused.status, refused.detail, as_json, refused.headers)
    return Response(signal.respond(translation, as_json), media_type=JSON if as_json else PROTOBUF)


async def _append(
    translation: otlp.Translation,
    caller: auth.Principal,
    ingest: Ingest,
    lifecycle: Lifecycle,
    settings: Settings,
) -> int:
    """Append each service's events to its system, in batches of LSO_MAX_BATCH_EVENTS; the
    events refused on the way are added to `translation`. Returns the number appended."""
    accepted = 0
    for service, rows in translation.events.items():
        if not rows:
            continue
        try:
            system_id = await reporting_system(caller, service, ingest.registry, lifecycle)
        except HTTPException as exc:
            translation.refuse(str(exc.detail), len(rows), service=service, by_key=True)
            continue
        except BadSystemName as exc:
            why = f"not a possible system name: {exc}"
            translation.refuse(why, len(rows), service=service)
            continue
        size = settings.max_batch_events
        for start in range(0, len(rows), size):
            try:
                accepted += await ingest.accept_rows(system_id, rows[start : start + size])
            except SystemNotFound:  # deleted meanwhile
                translation.refuse("its system was deleted", len(rows) - start, service=service)
                break
    return accepted


def _encoding(content_type: str | None) -> bool | None:
    """True for JSON, False for protobuf, None for anything else."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return {JSON: True, PROTOBUF: False}.get(media)


def _error(
    status_code: int, message: str, as_json: bool | None, headers: Mapping[str, str] | None
) -> Response:
    encoded_json = as_json is not False  # an unknown content type is answered in JSON
    code = _RPC_CODES.get(status_code, 2)  # 2: UNKNOWN
    return Response(
        otlp_answers.status(code, message, encoded_json),
        status_code=status_code,
        headers=headers,
        media_type=JSON if encoded_json else PROTOBUF,
    )
