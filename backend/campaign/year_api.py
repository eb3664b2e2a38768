"""School-year HTTP: a head returns a list, the categories (read-only here: they are national data),
district settings, transfers, school activation of unlinked grade 1–4 vouchers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from backend.auth import Principal, Role, require_admin
from backend.deps import CtxDep, UowDep
from backend.eligibility import categories
from backend.eligibility import services as lists
from backend.errors import not_found
from backend.roster import district as district_settings
from backend.vouchers import services as vouchers
from backend.vouchers.transfers import transfer_pupil

router = APIRouter(prefix="/api/admin/v1", tags=["school year"])
AnyAdmin = Annotated[Principal, Depends(require_admin())]
Head = Annotated[Principal, Depends(require_admin(Role.SCHOOL_HEAD))]
DistrictAdmin = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]


class ReturnBody(BaseModel):
    comment: str = Field(
        max_length=500
    )  # the list keeps it while it is open (eligibility_lists.return_comment)


class SettingsBody(BaseModel):
    school_activates_unlinked: bool = False
    year_end_month: int | None = None
    year_end_day: int | None = None


class TransferBody(BaseModel):
    to_school_id: int
    effective_on: date


def _category(c: categories.CategoryInfo) -> dict[str, Any]:
    return {
        "code": c.code,
        "name_kk": c.name_kk,
        "name_ru": c.name_ru,
        "plan": int(c.plan),
        "in_register": c.in_register,
        "active": c.active,
    }


@router.post("/eligibility-lists/{list_id}/return")
def return_list(list_id: int, body: ReturnBody, ctx: CtxDep, uow: UowDep, who: Head) -> dict[str, Any]:
    lst = lists.return_list(uow, who, list_id, body.comment, ctx.clock.now())
    return {"id": lst.id, "status": lst.status}


@router.get("/eligibility-lists/{list_id}/returns")
def list_returns(list_id: int, uow: UowDep, who: AnyAdmin) -> dict[str, Any]:
    rows = lists.list_returns(uow.session, who, list_id)
    return {
        "returns": [
            {"from_status": r.from_status, "comment": r.comment, "by": r.by, "at": r.at.isoformat()}
            for r in rows
        ]
    }


@router.get("/eligibility-categories")
def list_categories(uow: UowDep, who: AnyAdmin) -> dict[str, Any]:
    return {"categories": [_category(c) for c in categories.all_categories(uow.session).values()]}


@router.put("/districts/{district}/settings")
def put_settings(district: str, body: SettingsBody, uow: UowDep, who: DistrictAdmin) -> dict[str, Any]:
    if who.district != district:
        raise not_found("district")
    s = district_settings.put(
        uow,
        district,
        school_activates_unlinked=body.school_activates_unlinked,
        year_end_month=body.year_end_month,
        year_end_day=body.year_end_day,
    )
    return {
        "district": s.district,
        "school_activates_unlinked": s.school_activates_unlinked,
        "year_end_month": s.year_end_month,
        "year_end_day": s.year_end_day,
    }


@router.post("/pupils/{pupil_id}/transfer")
def transfer(
    pupil_id: int, body: TransferBody, ctx: CtxDep, uow: UowDep, who: DistrictAdmin
) -> dict[str, Any]:
    moved = transfer_pupil(
        uow, who, pupil_id, body.to_school_id, effective_on=body.effective_on, now=ctx.clock.now()
    )
    return {"pupil_id": pupil_id, "school_id": body.to_school_id, "vouchers_moved": moved}


@router.post("/vouchers/{voucher_id}/activate-by-school")
def activate_by_school(voucher_id: int, ctx: CtxDep, uow: UowDep, who: Head) -> dict[str, Any]:
    v = vouchers.activate_by_school(uow, who, voucher_id, ctx.clock.now())
    return {"voucher_id": v.id, "status": v.status}
