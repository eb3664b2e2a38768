"""Admin API for pupils and the monthly eligibility lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.adapters.wallet_tables import EligibilityList, Pupil
from backend.auth import Principal, Role, ensure_school, require_admin
from backend.deps import CtxDep, dispatch_sms_after_response
from backend.services.unit_of_work import UnitOfWork

from . import services
from .model import parse_month

router = APIRouter(prefix="/api/admin/v1", tags=["eligibility"])

AnyAdmin = Annotated[Principal, Depends(require_admin())]
Pedagogue = Annotated[Principal, Depends(require_admin(Role.SOCIAL_PEDAGOGUE))]
Head = Annotated[Principal, Depends(require_admin(Role.SCHOOL_HEAD))]
Checker = Annotated[Principal, Depends(require_admin(Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN))]


class ListIn(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-09"])


class EntryIn(BaseModel):
    pupil_id: int
    # a code of `GET /api/admin/v1/eligibility-categories` (CATEGORY_UNKNOWN otherwise)
    category: str | None = Field(default=None, max_length=30)


class ListOut(BaseModel):
    id: int
    school_id: int
    month: str
    status: str


class EntryOut(BaseModel):
    pupil_id: int
    full_name: str
    grade: int
    class_name: str
    category: str | None
    result: str | None
    reason: str | None


class ListDetail(ListOut):
    entries: list[EntryOut]


class CheckOut(BaseModel):
    confirmed: int
    returned: int
    vouchers_formed: int
    suspended: int
    consent_requests: int
    consent_joined: int
    consent_issues: dict[str, int]


class PupilOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    grade: int
    class_name: str


@router.get("/schools/{school_id}/pupils")
def school_pupils(school_id: int, principal: AnyAdmin, ctx: CtxDep) -> list[PupilOut]:
    ensure_school(principal, school_id)
    with ctx.session_factory() as s:
        rows = s.scalars(
            select(Pupil).where(Pupil.school_id == school_id).order_by(Pupil.class_name, Pupil.full_name)
        )
        return [PupilOut.model_validate(p) for p in rows]


@router.get("/schools/{school_id}/eligibility-lists")
def school_lists(school_id: int, principal: AnyAdmin, ctx: CtxDep) -> list[ListOut]:
    ensure_school(principal, school_id)
    with ctx.session_factory() as s:
        rows = s.scalars(
            select(EligibilityList)
            .where(EligibilityList.school_id == school_id)
            .order_by(EligibilityList.month)
        )
        return [
            ListOut(id=x.id, school_id=x.school_id, month=f"{x.month:%Y-%m}", status=x.status) for x in rows
        ]


@router.post("/schools/{school_id}/eligibility-lists", status_code=201)
def create_list(school_id: int, body: ListIn, principal: Pedagogue, ctx: CtxDep) -> ListOut:
    with UnitOfWork(ctx.session_factory) as uow:
        lst = services.create_list(uow.session, principal, school_id, parse_month(body.month))
        uow.commit()
        return ListOut(id=lst.id, school_id=lst.school_id, month=f"{lst.month:%Y-%m}", status=lst.status)


@router.post("/eligibility-lists/{list_id}/entries", status_code=201)
def add_entry(list_id: int, body: EntryIn, principal: Pedagogue, ctx: CtxDep) -> dict[str, int]:
    with UnitOfWork(ctx.session_factory) as uow:
        services.add_entry(uow.session, principal, list_id, body.pupil_id, body.category)
        uow.commit()
    return {"pupil_id": body.pupil_id}


@router.delete("/eligibility-lists/{list_id}/entries/{pupil_id}", status_code=204)
def remove_entry(list_id: int, pupil_id: int, principal: Pedagogue, ctx: CtxDep) -> None:
    with UnitOfWork(ctx.session_factory) as uow:
        services.remove_entry(uow.session, principal, list_id, pupil_id)
        uow.commit()


@router.post("/eligibility-lists/{list_id}/approve")
def approve(list_id: int, principal: Head, ctx: CtxDep) -> ListOut:
    with UnitOfWork(ctx.session_factory) as uow:
        lst = services.approve(uow.session, principal, list_id, ctx.clock.now())
        uow.commit()
        return ListOut(id=lst.id, school_id=lst.school_id, month=f"{lst.month:%Y-%m}", status=lst.status)


@router.post("/eligibility-lists/{list_id}/check")
def check(list_id: int, principal: Checker, ctx: CtxDep, background: BackgroundTasks) -> CheckOut:
    with UnitOfWork(ctx.session_factory) as uow:
        r = services.check(
            uow.session, principal, list_id, registry=ctx.registry, settings=ctx.settings, now=ctx.clock.now()
        )
        uow.commit()
    dispatch_sms_after_response(background, ctx)
    return CheckOut(
        confirmed=r.confirmed,
        returned=r.returned,
        vouchers_formed=r.vouchers_formed,
        suspended=r.suspended,
        consent_requests=r.consent.requests,
        consent_joined=r.consent.joined,
        consent_issues=dict(r.consent.issues),
    )


@router.get("/eligibility-lists/{list_id}")
def get_list(list_id: int, principal: AnyAdmin, ctx: CtxDep) -> ListDetail:
    with ctx.session_factory() as s:
        lst, rows = services.list_entries(s, principal, list_id)
        return ListDetail(
            id=lst.id,
            school_id=lst.school_id,
            month=f"{lst.month:%Y-%m}",
            status=lst.status,
            entries=[
                EntryOut(
                    pupil_id=p.id,
                    full_name=p.full_name,
                    grade=p.grade,
                    class_name=p.class_name,
                    category=e.category,
                    result=e.result,
                    reason=e.reason,
                )
                for e, p in rows
            ],
        )
