"""The web router mounted by the app: static files, the parent's pages and the pupil's pass."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from . import assets
from .console import (
    billing,
    dashboard,
    district,
    imports,
    lists,
    menus,
    payments,
    reask,
    revoke,
    school,
    tariffs,
)
from .console import signin as staff_signin
from .parent import children, meals, notices, passes, signin
from .pupil_pass import router as pass_router

router = APIRouter(include_in_schema=False)


@router.get("/static/{name:path}")
def static(name: str, request: Request) -> Response:
    asset = assets.load(name)
    if asset is None:
        return Response(status_code=404)
    versioned = request.query_params.get("v") == asset.version
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "public, max-age=300",
        "ETag": f'"{asset.version}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"}
        )
    return Response(asset.body, media_type=asset.media_type, headers=headers)


for module in (signin, children, meals, passes, notices):
    router.include_router(module.router)
router.include_router(pass_router)
for module in (
    staff_signin,
    district,
    imports,
    lists,
    school,
    menus,
    billing,
    payments,
    dashboard,
    tariffs,
    reask,
    revoke,
):  # the staff console
    router.include_router(module.router)
