"""Menu HTTP: schools publish, parents and suppliers read."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from backend.auth import Principal, Role, ensure_school, require_admin, require_parent
from backend.clock import local_date
from backend.deps import CtxDep, UowDep

from . import services

router = APIRouter(tags=["menu"])
Publisher = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD))]
Viewer = Annotated[Principal, Depends(require_admin())]
Parent = Annotated[Principal, Depends(require_parent)]


class MenuBody(BaseModel):
    day: date
    slot: int
    # [{"kk": "Күріш ботқасы", "ru": "Рисовая каша", "allergens": ["milk"]}, ...]
    dishes: list[dict[str, Any]] = Field(max_length=12)


def _json(m: services.MenuEntry) -> dict[str, Any]:
    return {
        "school_id": m.school_id,
        "day": m.day.isoformat(),
        "slot": m.slot,
        "dishes": [d.to_json() for d in m.dishes],
    }


@router.put("/api/admin/v1/schools/{school_id}/menus")
def publish(school_id: int, body: MenuBody, ctx: CtxDep, uow: UowDep, who: Publisher) -> dict[str, Any]:
    """Publishes (or replaces) the menu of one day and slot."""
    entry = services.publish(uow, who, school_id, body.day, body.slot, list(body.dishes), ctx.clock.now())
    return _json(entry)


@router.get("/api/admin/v1/schools/{school_id}/menus")
def school_menus(
    school_id: int, ctx: CtxDep, uow: UowDep, who: Viewer, start: date | None = None, days: int = 7
) -> dict[str, Any]:
    ensure_school(who, school_id)
    first = start or local_date(ctx.clock.now())
    return {"menus": [_json(m) for m in services.menus(uow.session, [school_id], first, days)]}


@router.get("/api/admin/v1/schools/{school_id}/menus/rated")
def rated_menus(
    school_id: int, ctx: CtxDep, uow: UowDep, who: Viewer, start: date | None = None, days: int = 7
) -> dict[str, Any]:
    """The school's menus, each with the ratings of the meals served under it (the supplier's view)."""
    ensure_school(who, school_id)
    first = start or local_date(ctx.clock.now())
    return {
        "menus": [
            {**_json(r.menu), "ratings": r.ratings, "average_x100": r.average_x100}
            for r in services.rated(uow.session, [school_id], first, days)
        ]
    }


@router.get("/api/parent/v1/menus")
def parent_menus(
    pupil_id: int, ctx: CtxDep, uow: UowDep, parent: Parent, start: date | None = None, days: int = 7
) -> dict[str, Any]:
    first = start or local_date(ctx.clock.now())
    return {"menus": [_json(m) for m in services.for_parent(uow.session, parent, pupil_id, first, days)]}
