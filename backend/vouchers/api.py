"""Parent API (/api/parent/v1) for vouchers and QR tokens, and the admin's voucher tools.

Every voucher is reached through the caller's own children: a foreign or unknown id answers 404.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.api_types import IdPath
from backend.auth import Principal, Role, require_admin, require_parent
from backend.auth.visibility import mask_phones, sees_personal_data
from backend.deps import CtxDep
from backend.errors import not_found
from backend.roster.tables import Pupil
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher, VoucherEvent

from . import services
from .model import Plan

router = APIRouter(tags=["vouchers"])

ParentDep = Annotated[Principal, Depends(require_parent)]
District = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]
AnyAdmin = Annotated[Principal, Depends(require_admin())]


class VoucherOut(BaseModel):
    id: int
    pupil_id: int
    child: str  # initials and class, as terminals show it
    school_id: int
    school_year: int
    status: str
    valid_until: date


class RefuseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


class PlanIn(BaseModel):
    plan: Plan
    reason: str = Field(min_length=1, max_length=200)


class QrOut(BaseModel):
    qr: str
    serial: int
    not_before: datetime
    expires_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    old_status: str | None
    new_status: str
    reason: str | None


def _voucher_out(v: Voucher | services.ChildVoucher, voucher_id: IdPath, child: str) -> VoucherOut:
    return VoucherOut(
        id=voucher_id,
        pupil_id=v.pupil_id,
        child=child,
        school_id=v.school_id,
        school_year=v.school_year,
        status=v.status,
        valid_until=v.valid_until,
    )


@router.get("/api/parent/v1/vouchers")
def my_vouchers(principal: ParentDep, ctx: CtxDep) -> list[VoucherOut]:
    with ctx.session_factory() as s:
        return [_voucher_out(c, c.voucher_id, c.display) for c in services.list_for_parent(s, principal)]


def _display(ctx: CtxDep, v: Voucher) -> str:
    with ctx.session_factory() as s:
        return s.scalar(select(Pupil.display).where(Pupil.id == v.pupil_id)) or ""


@router.post("/api/parent/v1/vouchers/{voucher_id}/activate")
def activate(voucher_id: IdPath, principal: ParentDep, ctx: CtxDep) -> VoucherOut:
    with UnitOfWork(ctx.session_factory) as uow:
        v = services.activate(uow.session, principal, voucher_id, ctx.clock.now())
        uow.commit()
    return _voucher_out(v, v.id, _display(ctx, v))


@router.post("/api/parent/v1/vouchers/{voucher_id}/refuse")
def refuse(voucher_id: IdPath, body: RefuseIn, principal: ParentDep, ctx: CtxDep) -> VoucherOut:
    with UnitOfWork(ctx.session_factory) as uow:
        v = services.refuse(uow.session, principal, voucher_id, body.reason, ctx.clock.now())
        uow.commit()
    return _voucher_out(v, v.id, _display(ctx, v))


def _issue(ctx: CtxDep, principal: Principal, voucher_id: IdPath, *, supersede: bool) -> services.IssuedQr:
    with UnitOfWork(ctx.session_factory) as uow:
        issued = services.issue_qr(
            uow.session,
            ctx.keys,
            principal,
            voucher_id,
            now=ctx.clock.now(),
            validity=timedelta(seconds=ctx.settings.qr_validity_seconds),
            supersede=supersede,
        )
        uow.commit()
    return issued


@router.post("/api/parent/v1/vouchers/{voucher_id}/qr")
def issue_qr(voucher_id: IdPath, principal: ParentDep, ctx: CtxDep) -> QrOut:
    q = _issue(ctx, principal, voucher_id, supersede=False)
    return QrOut(qr=q.text, serial=q.serial, not_before=q.not_before, expires_at=q.expires_at)


@router.get(
    "/api/parent/v1/vouchers/{voucher_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def issue_qr_png(voucher_id: IdPath, principal: ParentDep, ctx: CtxDep) -> Response:
    q = _issue(ctx, principal, voucher_id, supersede=False)
    buf = io.BytesIO()
    # Alphanumeric mode, error correction M: the token format is sized for a version-7-M symbol.
    segno.make_qr(q.text, error="m", boost_error=False).save(buf, kind="png", scale=6, border=4)
    return Response(
        buf.getvalue(),
        media_type="image/png",
        headers={
            "X-QR-Serial": str(q.serial),
            "X-QR-Expires": q.expires_at.isoformat(),
            "Cache-Control": "no-store",
        },
    )


@router.post("/api/parent/v1/vouchers/{voucher_id}/reissue")
def reissue(voucher_id: IdPath, principal: ParentDep, ctx: CtxDep) -> QrOut:
    """A token leaked: a new one whose serial becomes the minimum, so older ones are SUPERSEDED."""
    q = _issue(ctx, principal, voucher_id, supersede=True)
    return QrOut(qr=q.text, serial=q.serial, not_before=q.not_before, expires_at=q.expires_at)


@router.get("/api/parent/v1/vouchers/{voucher_id}/events")
def parent_events(voucher_id: IdPath, principal: ParentDep, ctx: CtxDep) -> list[EventOut]:
    with ctx.session_factory() as s:
        return [EventOut.model_validate(e) for e in services.voucher_events(s, principal, voucher_id)]


@router.get("/api/admin/v1/vouchers/{voucher_id}/events")
def admin_events(voucher_id: IdPath, principal: AnyAdmin, ctx: CtxDep) -> list[EventOut]:
    with ctx.session_factory() as s:
        v = s.get(Voucher, voucher_id)
        if v is None or v.school_id not in principal.school_ids:
            raise not_found("voucher")
        rows = s.scalars(
            select(VoucherEvent).where(VoucherEvent.voucher_id == voucher_id).order_by(VoucherEvent.id)
        )
        events = [EventOut.model_validate(e) for e in rows]
    if not sees_personal_data(principal):
        events = [e.model_copy(update={"actor": mask_phones(e.actor)}) for e in events]
    return events


@router.post("/api/admin/v1/vouchers/{voucher_id}/revoke")
def revoke(voucher_id: IdPath, body: RevokeIn, principal: District, ctx: CtxDep) -> dict[str, str]:
    with UnitOfWork(ctx.session_factory) as uow:
        v = uow.session.get(Voucher, voucher_id)
        if v is None or v.school_id not in principal.school_ids:
            raise not_found("voucher")
        v = services.revoke(
            uow.session, voucher_id, actor=f"admin:{principal.id}", reason=body.reason, now=ctx.clock.now()
        )
        uow.commit()
        return {"status": v.status}


@router.post("/api/admin/v1/vouchers/{voucher_id}/plan")
def set_plan(voucher_id: IdPath, body: PlanIn, principal: District, ctx: CtxDep) -> dict[str, int | str]:
    """Free or discounted: the district admin's decision, in the voucher's audit trail."""
    with UnitOfWork(ctx.session_factory) as uow:
        v = uow.session.get(Voucher, voucher_id)
        if v is None or v.school_id not in principal.school_ids:
            raise not_found("voucher")
        v = services.set_plan(
            uow.session,
            voucher_id,
            body.plan,
            actor=f"admin:{principal.id}",
            reason=body.reason,
            now=ctx.clock.now(),
        )
        uow.commit()
        return {"plan": v.plan, "status": v.status}
