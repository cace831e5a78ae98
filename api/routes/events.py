from fastapi import APIRouter, Request, Response

from api.body import read_json_body
from api.deps import IngestorDep, NowDep, RegistryDep, SettingsDep
from api.routes.systems import SystemId
from api.schemas.events import Accepted, batch_model
from shared.codec import encode_batch

router = APIRouter(tags=["events"])

_DOC_MODEL = batch_model(5000)


@router.post(
    "/systems/{system_id}/events",
    status_code=202,
    response_model=Accepted,
    responses={
        404: {"description": "Unknown system (checked before the body)"},
        413: {"description": "Body larger than LSO_MAX_BODY_BYTES (compressed or not)"},
        415: {"description": "Not JSON, or an encoding other than gzip"},
        422: {"description": "Invalid batch; `detail` names each event index and field"},
        503: {"description": "Store unavailable; retry after `Retry-After` seconds"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _DOC_MODEL.model_json_schema()}},
        }
    },
)
async def create_events(
    system_id: SystemId,
    request: Request,
    registry: RegistryDep,
    ingestor: IngestorDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Accept a batch of events. 202 is returned only once the batch is in the stream."""
    await registry.require(system_id)
    body = await read_json_body(request, settings.max_body_bytes)
    rows = ingestor.validate(system_id, body, now)
    entry = encode_batch(system_id, rows)
    accepted = len(rows)
    # Parsed objects must not live across the await: with many requests in flight they would
    # survive into older GC generations and make collections expensive.
    del body, rows
    await ingestor.append(system_id, entry, accepted)
    return Response(b'{"accepted":%d}' % accepted, status_code=202, media_type="application/json")
