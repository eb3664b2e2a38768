"""Feedback HTTP: parents rate meals and file complaints; admins list and resolve them, read aggregates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from backend.api_types import IdPath
from backend.auth import Principal, Role, ensure_school, require_admin, require_parent
from backend.deps import CtxDep, ReaderDep, UowDep
from backend.errors import not_found

from . import services
from .history import meal_history
from .model import ComplaintStatus, RatingSummary
from .tables import ComplaintRow

router = APIRouter(tags=["feedback"])
Parent = Annotated[Principal, Depends(require_parent)]
ComplaintAdmin = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD))]
DistrictAdmin = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]
RatingViewer = Annotated[
    Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SUPPLIER))
]


class RatingBody(BaseModel):
    stars: int
    text: str | None = Field(default=None, max_length=2000)


class ComplaintBody(BaseModel):
    pupil_id: int
    text: str = Field(max_length=2000)
    event_id: str | None = Field(default=None, max_length=32)


class ResolveBody(BaseModel):
    resolution: str = Field(max_length=2000)


def _event_id(hex_id: str) -> bytes:
    try:
        raw = bytes.fromhex(hex_id)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise not_found("meal")
    return raw


def _complaint(c: ComplaintRow) -> dict[str, Any]:
    return {
        "complaint_id": c.id,
        "pupil_id": c.pupil_id,
        "school_id": c.school_id,
        "district": c.district,
        "event_id": c.event_id.hex() if c.event_id else None,
        "text": c.text,
        "status": c.status,
        "created_at": c.created_at.isoformat(),
        "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
        "resolution": c.resolution,
        "forwarded_at": c.forwarded_at.isoformat() if c.forwarded_at else None,
        "appeal_ref": c.appeal_ref,
        "closed_at": c.closed_at.isoformat() if c.closed_at else None,
    }


def _summary(s: RatingSummary) -> dict[str, Any]:
    return {
        "count": s.count,
        "average": s.average,
        "distribution": {str(k): v for k, v in s.distribution.items()},
    }


@router.post("/api/parent/v1/meals/{event_id}/rating", status_code=201)
def rate(event_id: str, body: RatingBody, ctx: CtxDep, uow: UowDep, parent: Parent) -> dict[str, Any]:
    row = services.rate_meal(uow, parent, _event_id(event_id), body.stars, body.text, now=ctx.clock.now())
    return {"event_id": event_id, "stars": row.stars}


@router.post("/api/parent/v1/complaints", status_code=201)
def complain(body: ComplaintBody, ctx: CtxDep, uow: UowDep, parent: Parent) -> dict[str, Any]:
    event = None if body.event_id is None else _event_id(body.event_id)
    row = services.file_complaint(uow, parent, body.pupil_id, body.text, event_id=event, now=ctx.clock.now())
    return _complaint(row)


@router.get("/api/admin/v1/complaints")
def list_complaints(
    uow: UowDep, who: ComplaintAdmin, status: ComplaintStatus | None = None
) -> dict[str, Any]:
    return {"complaints": [_complaint(c) for c in services.complaints(uow.session, who, status)]}


@router.post("/api/admin/v1/complaints/{complaint_id}/forward")
def forward(complaint_id: IdPath, ctx: CtxDep, uow: UowDep, who: DistrictAdmin) -> dict[str, Any]:
    """Queues a received complaint for e-Otinish; it becomes `forwarded` when the appeal is receipted."""
    return _complaint(services.forward(uow, who, complaint_id, now=ctx.clock.now()))


@router.post("/api/admin/v1/complaints/{complaint_id}/resolve")
def resolve(
    complaint_id: IdPath, body: ResolveBody, ctx: CtxDep, uow: UowDep, who: ComplaintAdmin
) -> dict[str, Any]:
    return _complaint(services.resolve(uow, who, complaint_id, body.resolution, now=ctx.clock.now()))


@router.post("/api/admin/v1/complaints/{complaint_id}/close")
def close(complaint_id: int, ctx: CtxDep, uow: UowDep, who: ComplaintAdmin) -> dict[str, Any]:
    return _complaint(services.close(uow, who, complaint_id, now=ctx.clock.now()))


@router.get("/api/parent/v1/complaints")
def my_complaints(uow: UowDep, parent: Parent) -> dict[str, Any]:
    """The parent's complaints with their status (received, forwarded, answered, closed)."""
    return {"complaints": [_complaint(c) for c in services.complaints_of_parent(uow.session, parent)]}


@router.get("/api/admin/v1/ratings/schools/{school_id}")
def school_ratings(school_id: IdPath, uow: UowDep, who: RatingViewer) -> dict[str, Any]:
    ensure_school(who, school_id)
    return {"school_id": school_id, **_summary(services.school_ratings(uow.session, school_id))}


@router.get("/api/admin/v1/ratings/suppliers/{supplier_id}")
def supplier_ratings(supplier_id: IdPath, uow: UowDep, who: RatingViewer) -> dict[str, Any]:
    return {
        "supplier_id": supplier_id,
        **_summary(services.supplier_ratings(uow.session, supplier_id, who.school_ids)),
    }


@router.get("/api/parent/v1/vouchers/{voucher_id}/meals")
def meals(voucher_id: IdPath, parent: Parent, reader: ReaderDep) -> list[dict[str, Any]]:
    # may read the streaming replica within its bounded lag
    return [
        {
            "event_id": m.event_id,
            "served_at": m.served_at.isoformat(),
            "local_date": m.local_date.isoformat(),
            "slot": m.slot,
            "school_id": m.school_id,
            "plan": m.plan,
            "status": m.status,
            "billable": m.billable,
            "flags": list(m.flags),
            "notified_at": m.notified_at.isoformat() if m.notified_at else None,
            "rating": m.rating,
        }
        for m in meal_history(reader, parent, voucher_id)
    ]
