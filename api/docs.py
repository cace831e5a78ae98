"""The documentation pages, Swagger UI at `/docs` and ReDoc at `/redoc`, with their files served
by the API itself under `/static-offline-docs/` (the fastapi-offline package ships them, MIT): the
pages work where their readers have no internet, and tell no CDN who reads them. They, like
`/openapi.json`, need no key; their "Authorize" button takes one (api/openapi_security.py).
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from fastapi_offline import FastAPIOffline

ASSETS_URL = "/static-offline-docs"
REDOC_URL = "/redoc"
# ReDoc's sidebar shows Redocly's logo from their CDN, whatever its options say: the browser is
# told to load images from this origin only, so the page sends nothing elsewhere.
REDOC_POLICY = "img-src 'self' data:"


def app_with_docs(**options: Any) -> FastAPI:
    """`FastAPI(**options)` with the documentation pages at their usual paths."""
    app = FastAPIOffline(redoc_url=None, static_url=ASSETS_URL, **options)
    openapi_url = app.openapi_url

    @app.get(REDOC_URL, include_in_schema=False)
    async def read_redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_POLICY
        return page

    return app
