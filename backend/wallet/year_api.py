"""School-year HTTP (eligibility side): a head returns a list, categories, district settings, transfers,
school activation of unlinked grade 1–4 vouchers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from backend.auth import Principal, Role, require_admin
from backend.deps import CtxDep, UowDep
from backend.errors import not_found
from backend.vouchers import services as vouchers
from backend.vouchers.transfers import transfer_pupil

from . import categories, services
from . import district as district_settings

router = APIRouter(prefix="/api/admin/v1", tags=["school year"])
AnyAdmin = Annotated[Principal, Depends(require_admin())]
Head = Annotated[Principal, Depends(require_admin(Role.SCHOOL_HEAD))]
DistrictAdmin = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]


class ReturnBody(BaseModel):
    comment: str = Field(max_length=2000)


class SettingsBody(BaseModel):
    school_activates_unlinked: bool = False
    year_end_month: int | None = None
    year_end_day: int | None = None


class TransferBody(BaseModel):
    to_school_id: int
    effective_on: date


@router.post("/eligibility-lists/{list_id}/return")
def return_list(list_id: int, body: ReturnBody, ctx: CtxDep, uow: UowDep, who: Head) -> dict[str, Any]:
    with uow:
        lst = services.return_list(uow.session, who, list_id, body.comment, ctx.clock.now())
        uow.commit()
        return {"id": lst.id, "status": lst.status}


@router.get("/eligibility-lists/{list_id}/returns")
def list_returns(list_id: int, ctx: CtxDep, who: AnyAdmin) -> dict[str, Any]:
    with ctx.session_factory() as session:
        rows = services.list_returns(session, who, list_id)
        return {
            "returns": [
                {"from_status": r.from_status, "comment": r.comment, "by": r.by, "at": r.at.isoformat()}
                for r in rows
            ]
        }


@router.get("/eligibility-categories")
def list_categories(ctx: CtxDep, who: AnyAdmin) -> dict[str, Any]:
    with ctx.session_factory() as session:
        return {
            "categories": [
                {"code": c.code, "name_kk": c.name_kk, "name_ru": c.name_ru, "plan": int(c.plan),
                 "in_register": c.in_register, "active": c.active}
                for c in categories.all_categories(session).values()
            ]
        }  # fmt: skip


@router.put("/districts/{district}/settings")
def put_settings(district: str, body: SettingsBody, uow: UowDep, who: DistrictAdmin) -> dict[str, Any]:
    if who.district != district:
        raise not_found("district")
    with uow:
        s = district_settings.put(
            uow.session,
            district,
            school_activates_unlinked=body.school_activates_unlinked,
            year_end_month=body.year_end_month,
            year_end_day=body.year_end_day,
        )
        uow.commit()
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
    with uow:
        moved = transfer_pupil(
            uow.session, who, pupil_id, body.to_school_id, effective_on=body.effective_on, now=ctx.clock.now()
        )
        uow.commit()
        return {"pupil_id": pupil_id, "school_id": body.to_school_id, "vouchers_moved": moved}


@router.post("/vouchers/{voucher_id}/activate-by-school")
def activate_by_school(voucher_id: int, ctx: CtxDep, uow: UowDep, who: Head) -> dict[str, Any]:
    with uow:
        v = vouchers.activate_by_school(uow.session, who, voucher_id, ctx.clock.now())
        uow.commit()
        return {"voucher_id": v.id, "status": v.status}
