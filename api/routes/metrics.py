"""`GET /metrics`: the deployment's figures in Prometheus' text format, for a scrape.

Every figure is read from the store (shared/services/metrics.py), so a scrape of any API process
shows the whole deployment. Who sees what: with LSO_METRICS_PUBLIC anyone sees everything;
otherwise an admin key sees everything, and a read key the per-system series of its own systems
only (the service's series describe every tenant's traffic). Prometheus sends the key with
`authorization: {credentials: <key>}` in its scrape config.
"""

import gzip

from fastapi import APIRouter, HTTPException, Request, Response

from api import auth
from api.auth import CallerDep
from api.deps import MetricsDep, NowDep, SettingsDep
from api.prometheus import CONTENT_TYPE, render

router = APIRouter(tags=["metrics"])

GZIP_FROM_BYTES = 1024  # a smaller answer is not worth compressing

_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Prometheus' text exposition format (version 0.0.4); gzip when accepted",
        "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
    },
    401: {"description": "No key, or an invalid one (unless LSO_METRICS_PUBLIC)"},
    403: {"description": "A key of another kind than admin or read"},
}


@router.get("/metrics", response_class=Response, responses=_RESPONSES)
async def read_metrics(
    request: Request, caller: CallerDep, settings: SettingsDep, metrics: MetricsDep, now: NowDep
) -> Response:
    """Service series (requests, ingest, streams, evaluator, deliveries) for admins, and the
    per-system series (verdict, error ratio, p95, last event) of the systems the caller sees
    unless LSO_METRICS_PER_SYSTEM is off. docs/metrics.md lists every series."""
    everything = settings.metrics_public
    sees = None
    if not everything:
        p = auth.known(caller)
        if p.kind not in ("admin", "read"):
            raise HTTPException(403, f"a {p.kind} key may not read metrics")
        everything = p.kind == "admin"
        sees = None if everything else p.sees
    figures = await metrics.read(
        now, service=everything, per_system=settings.metrics_per_system, sees=sees
    )
    body = render(figures.service, figures.systems)
    headers = {"Cache-Control": "no-store"}
    if len(body) >= GZIP_FROM_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=1)  # level 1: ~15x smaller, ~4 ms a MB
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=CONTENT_TYPE, headers=headers)
