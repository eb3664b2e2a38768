"""The money steps and the payment register over HTTP (`/api/admin/v1/billing/...`).

Steps: the social pedagogue submits the timesheet, the head signs, the supplier signs the act, the
district accepts; everyone with billing rights to the school sees the steps and what is late. The
payment register is the district admin's (their own district only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from backend.auth.dependencies import ensure_school, require_admin
from backend.auth.model import Principal, Role
from backend.deps import CtxDep, UowDep
from backend.errors import DomainError

from . import register, steps
from .model import BillingError, parse_month

router = APIRouter(prefix="/api/admin/v1/billing", tags=["billing"])
StepDoer = Annotated[
    Principal,
    Depends(require_admin(Role.SOCIAL_PEDAGOGUE, Role.SCHOOL_HEAD, Role.SUPPLIER, Role.DISTRICT_ADMIN)),
]
DistrictAdmin = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]
MonthQ = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


class StepBody(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    version: int
    step: steps.Step


class RegisterBody(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    format: str = Field(default="json", pattern="^(json|csv)$")


def _month(text: str) -> Any:
    try:
        return parse_month(text)
    except BillingError as exc:
        raise DomainError(exc.reason, exc.detail) from exc


def _state(s: steps.StepState) -> dict[str, Any]:
    return {
        "school_id": s.school_id,
        "month": f"{s.month:%Y-%m}",
        "version": s.version,
        "done": [{"step": st, "actor": a, "at": at.isoformat(), "late": late} for st, a, at, late in s.done],
        "next_step": s.next_step,
        "next_due": s.next_due.isoformat() if s.next_due else None,
        "overdue": s.overdue,
    }


@router.post("/acts/{school_id}/steps")
def do_step(school_id: int, body: StepBody, ctx: CtxDep, uow: UowDep, who: StepDoer) -> dict[str, Any]:
    ensure_school(who, school_id)
    m = _month(body.month)
    return _state(steps.advance(uow, who, school_id, m, body.version, body.step, ctx.clock.now()))


@router.get("/steps")
def step_states(
    ctx: CtxDep, uow: UowDep, who: StepDoer, month: MonthQ, school_id: int | None = None
) -> dict[str, Any]:
    """The console's view of the schools in scope (or one): steps done, the next one, what is overdue."""
    if school_id is not None:
        ensure_school(who, school_id)
    schools = who.school_ids if school_id is None else {school_id}
    return {"acts": [_state(s) for s in steps.states(uow.session, schools, _month(month), ctx.clock.now())]}


@router.post("/payment-register")
def payment_register(body: RegisterBody, ctx: CtxDep, uow: UowDep, who: DistrictAdmin) -> Response:
    """Produces the district's register of the month; the acts in it are marked sent for payment."""
    assert who.district is not None  # a district admin has one
    reg = register.produce(uow, who.district, _month(body.month), ctx.clock.now())
    if body.format == "csv":
        return Response(register.to_csv(reg), media_type="text/csv; charset=utf-8")
    return Response(register.to_json_bytes(reg), media_type="application/json")
