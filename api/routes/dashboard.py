"""The dashboard: the static files of `api/ui/` at `/ui/`, and `/`, `/dashboard`, `/ui` leading
there.

The files are read once when the app is built and served from memory by name: only the files
that exist there, with the extensions listed in MEDIA_TYPES, can be asked for, so no request
path ever reaches the file system (no traversal, no directory listing, no symlink surprise).
The pages need no key to load; every data call they make carries one (api/ui/api.js).

Every answer carries a strict Content-Security-Policy (scripts, styles and data only from this
origin; no inline script, no frames, no plugins), so that even a text shown by mistake as markup
could run nothing: the pages build their DOM with `textContent` for everything users wrote.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from shared.errors import NotFound

ASSETS_DIR = Path(__file__).resolve().parent.parent / "ui"
INDEX = "index.html"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate every time (the ETag makes that a 304): a new version shows at the next load.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def load_assets(directory: Path = ASSETS_DIR) -> dict[str, Asset]:
    """Every servable file under `directory` by its path relative to it ("vendor/x.js")."""
    found = {}
    for path in sorted(directory.rglob("*")):
        media_type = MEDIA_TYPES.get(path.suffix)
        if not path.is_file() or path.is_symlink() or media_type is None:
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        found[path.relative_to(directory).as_posix()] = Asset(body, media_type, etag)
    return found


ASSETS = load_assets()

router = APIRouter(include_in_schema=False)


def _to_ui() -> RedirectResponse:
    # A relative Location: never built from the Host header a client chooses (api/main.py).
    return RedirectResponse("/ui/", status_code=307)


@router.get("/")
async def read_root() -> RedirectResponse:
    return _to_ui()


@router.get("/dashboard")
async def read_dashboard() -> RedirectResponse:
    return _to_ui()


@router.get("/ui")
async def read_ui_bare() -> RedirectResponse:
    return _to_ui()


@router.api_route("/ui/", methods=["GET", "HEAD"])
async def read_ui_index(request: Request) -> Response:
    return _serve(INDEX, request)


@router.api_route("/ui/{path:path}", methods=["GET", "HEAD"])
async def read_ui_asset(path: str, request: Request) -> Response:
    return _serve(path, request)


def _serve(path: str, request: Request) -> Response:
    asset = ASSETS.get(path)
    if asset is None:
        raise NotFound(f"no dashboard file {path!r}")
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if asset.etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    headers["Content-Length"] = str(len(asset.body))
    return Response(body, media_type=asset.media_type, headers=headers)
