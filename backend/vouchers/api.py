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

from backend.api_types import IdPath
from backend.auth import Principal, Role, parent_of, require_admin, require_parent, require_parent_token
from backend.auth.visibility import mask_phones, sees_personal_data
from backend.deps import CtxDep, UowDep
from backend.vouchers.tables import Voucher

from . import services
from .model import Plan

router = APIRouter(tags=["vouchers"])

ParentDep = Annotated[Principal, Depends(require_parent)]
ParentToken = Annotated[str, Depends(require_parent_token)]
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
def my_vouchers(principal: ParentDep, uow: UowDep) -> list[VoucherOut]:
    children = services.list_for_parent(uow.session, principal)
    return [_voucher_out(c, c.voucher_id, c.display) for c in children]


@router.post("/api/parent/v1/vouchers/{voucher_id}/activate")
def activate(voucher_id: IdPath, principal: ParentDep, ctx: CtxDep, uow: UowDep) -> VoucherOut:
    v = services.activate(uow, principal, voucher_id, ctx.clock.now())
    return _voucher_out(v, v.id, services.voucher_display(uow.session, v.id))


@router.post("/api/parent/v1/vouchers/{voucher_id}/refuse")
def refuse(voucher_id: IdPath, body: RefuseIn, principal: ParentDep, ctx: CtxDep, uow: UowDep) -> VoucherOut:
    v = services.refuse(uow, principal, voucher_id, body.reason, ctx.clock.now())
    return _voucher_out(v, v.id, services.voucher_display(uow.session, v.id))


def _issue(ctx: CtxDep, uow: UowDep, token: str, voucher_id: int, *, supersede: bool) -> services.IssuedQr:
    """The parent's session and the issuance in one thread-pool hop, one connection and one
    transaction (the routes have no body to wait for, so nothing is held while a client is slow)."""
    now = ctx.clock.now()
    return services.issue_qr(
        uow,
        ctx.keys,
        parent_of(uow, token, now),
        voucher_id,
        now=now,
        validity=timedelta(seconds=ctx.settings.qr_validity_seconds),
        supersede=supersede,
    )


@router.post("/api/parent/v1/vouchers/{voucher_id}/qr")
def issue_qr(voucher_id: IdPath, token: ParentToken, ctx: CtxDep, uow: UowDep) -> QrOut:
    q = _issue(ctx, uow, token, voucher_id, supersede=False)
    return QrOut(qr=q.text, serial=q.serial, not_before=q.not_before, expires_at=q.expires_at)


@router.get(
    "/api/parent/v1/vouchers/{voucher_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def issue_qr_png(voucher_id: IdPath, token: ParentToken, ctx: CtxDep, uow: UowDep) -> Response:
    q = _issue(ctx, uow, token, voucher_id, supersede=False)
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
def reissue(voucher_id: IdPath, token: ParentToken, ctx: CtxDep, uow: UowDep) -> QrOut:
    """A token leaked: a new one whose serial becomes the minimum, so older ones are SUPERSEDED."""
    q = _issue(ctx, uow, token, voucher_id, supersede=True)
    return QrOut(qr=q.text, serial=q.serial, not_before=q.not_before, expires_at=q.expires_at)


@router.get("/api/parent/v1/vouchers/{voucher_id}/events")
def parent_events(voucher_id: IdPath, principal: ParentDep, uow: UowDep) -> list[EventOut]:
    return [EventOut.model_validate(e) for e in services.voucher_events(uow.session, principal, voucher_id)]


@router.get("/api/admin/v1/vouchers/{voucher_id}/events")
def admin_events(voucher_id: IdPath, principal: AnyAdmin, uow: UowDep) -> list[EventOut]:
    events = [
        EventOut.model_validate(e)
        for e in services.admin_voucher_events(uow.session, principal.school_ids, voucher_id)
    ]
    if not sees_personal_data(principal):
        events = [e.model_copy(update={"actor": mask_phones(e.actor)}) for e in events]
    return events


@router.post("/api/admin/v1/vouchers/{voucher_id}/revoke")
def revoke(
    voucher_id: IdPath, body: RevokeIn, principal: District, ctx: CtxDep, uow: UowDep
) -> dict[str, str]:
    v = services.revoke(
        uow,
        voucher_id,
        school_ids=principal.school_ids,
        actor=f"admin:{principal.id}",
        reason=body.reason,
        now=ctx.clock.now(),
    )
    return {"status": v.status}


@router.post("/api/admin/v1/vouchers/{voucher_id}/plan")
def set_plan(
    voucher_id: IdPath, body: PlanIn, principal: District, ctx: CtxDep, uow: UowDep
) -> dict[str, int | str]:
    """Free or discounted: the district admin's decision, in the voucher's audit trail."""
    v = services.set_plan(
        uow,
        voucher_id,
        body.plan,
        school_ids=principal.school_ids,
        actor=f"admin:{principal.id}",
        reason=body.reason,
        now=ctx.clock.now(),
    )
    return {"plan": v.plan, "status": v.status}
