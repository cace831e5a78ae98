"""A system's health badge: whether it is public (admin sets it), and the SVG itself, served
without a key for public badges and 404 otherwise (unknown systems alike)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.deps import AdministeredSystem, ReadableSystem, SystemId
from api.schemas.badges import BadgeSetting, BadgeUpdate
from shared.model import badge
from shared.services.badges import Badges

router = APIRouter(tags=["badges"])

# Short: README pages and image proxies (GitHub's camo) fetch it again soon; a verdict is news.
CACHE_CONTROL = "max-age=30"
# An SVG opened on its own is a document of this origin: it may run nothing, load nothing.
SVG_HEADERS = {"Cache-Control": CACHE_CONTROL, "Content-Security-Policy": "default-src 'none'",
               "X-Content-Type-Options": "nosniff"}  # fmt: skip
NOT_FOUND = b'{"detail":"Not Found"}'  # the same for a private badge and an unknown system


async def _badges(request: Request) -> Badges:
    """The badge service of this app, made on first use from the services api/main.py built
    (so that it keeps its short answer cache for the life of the app)."""
    state = request.app.state
    found: Badges | None = getattr(state, "badges", None)
    if found is None:
        found = state.badges = Badges(state.redis, state.registry, state.partitions)
    return found


BadgesDep = Annotated[Badges, Depends(_badges)]


def _setting(system_id: int, public: bool) -> BadgeSetting:
    return BadgeSetting(
        system_id=system_id, public=public, svg_path=f"/systems/{system_id}/badge.svg"
    )


@router.get(
    "/systems/{system_id}/badge",
    response_model=BadgeSetting,
    responses={404: {"description": "Unknown system"}},
)
async def read_badge(system_id: SystemId, _: ReadableSystem, badges: BadgesDep) -> BadgeSetting:
    """Whether the system's badge is public."""
    return _setting(system_id, await badges.is_public(system_id))


@router.put(
    "/systems/{system_id}/badge",
    response_model=BadgeSetting,
    responses={404: {"description": "Unknown system"}, 422: {"description": "Not {public: bool}"}},
)
async def update_badge(
    system_id: SystemId, body: BadgeUpdate, _: AdministeredSystem, badges: BadgesDep
) -> BadgeSetting:
    """Make the badge public (anyone may fetch `/systems/{id}/badge.svg`, without a key) or
    private again (admin). Other API processes follow within a second."""
    await badges.set_public(system_id, body.public)
    return _setting(system_id, body.public)


@router.get(
    "/systems/{system_id}/badge.svg",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The badge"},
        404: {"description": "No such system, or its badge is not public"},
    },
)
async def read_badge_svg(system_id: SystemId, badges: BadgesDep) -> Response:
    """A shields-style badge: the system's name and the verdict the jobs last recorded (NO DATA
    before their first evaluation), in its colour. No key needed; 404 unless the system's badge
    is public."""
    shown = await badges.public_verdict(system_id)
    if shown is None:
        return Response(NOT_FOUND, 404, media_type="application/json",
                        headers={"Cache-Control": "no-store"})  # fmt: skip
    rendered = badge.render(shown.name, shown.verdict)
    return Response(rendered.svg, media_type="image/svg+xml", headers=SVG_HEADERS)
