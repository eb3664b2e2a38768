"""Calendar admin HTTP: meal slots, teaching weekdays, holidays and extra days, tariffs (tiyn)."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from backend.api_types import IdPath
from backend.auth import Principal, Role, ensure_school, require_admin
from backend.clock import local_date
from backend.deps import CtxDep, UowDep
from backend.errors import not_found

from . import services
from .model import CalendarError, CalendarReason, DayRule, SlotTime, Tariff

router = APIRouter(prefix="/api/admin/v1", tags=["calendar"])
CalendarAdmin = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD))]
DistrictAdmin = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]
Viewer = Annotated[Principal, Depends(require_admin())]
MAX_VIEW_DAYS = 400


class SlotBody(BaseModel):
    slot: int
    start: time
    end: time


class WeekdaysBody(BaseModel):
    weekdays: list[int] = Field(max_length=7)


class DayBody(BaseModel):
    day: date
    school_day: bool
    slots: list[int] | None = Field(default=None, max_length=8)
    note: str = Field(default="", max_length=200)


class TariffBody(BaseModel):
    school_id: int | None = None
    plan: int
    slot: int
    valid_from: date
    amount_tiyn: int
    state_share_tiyn: int


def _rule(body: DayBody) -> DayRule:
    return DayRule(body.day, body.school_day, None if body.slots is None else tuple(body.slots), body.note)


@router.get("/schools/{school_id}/calendar")
def view(
    school_id: IdPath,
    ctx: CtxDep,
    uow: UowDep,
    who: Viewer,
    start: date | None = None,
    days: Annotated[int, Query(ge=1, le=MAX_VIEW_DAYS)] = 31,
) -> dict[str, Any]:
    ensure_school(who, school_id)
    first = start or local_date(ctx.clock.now())
    if first > date.max - timedelta(days=days):
        raise CalendarError(CalendarReason.BAD_RANGE, "the view would end after year 9999")
    cal = services.load_calendar(uow.session, school_id)
    return {
        "school_id": school_id,
        "weekdays": sorted(cal.weekdays),
        "slots": [
            {"slot": s.slot, "start": s.start.isoformat("minutes"), "end": s.end.isoformat("minutes")}
            for s in cal.slots
        ],
        "days": [
            {"day": d.isoformat(), "slots": list(cal.slots_on(d))}
            for d in (first + timedelta(days=i) for i in range(days))
        ],
    }


@router.put("/schools/{school_id}/meal-slots")
def put_slots(school_id: IdPath, body: list[SlotBody], uow: UowDep, who: CalendarAdmin) -> dict[str, int]:
    ensure_school(who, school_id)
    slots = [SlotTime(s.slot, s.start, s.end) for s in body]
    services.set_slots(uow, school_id, slots)
    return {"slots": len(slots)}


@router.put("/schools/{school_id}/weekdays")
def put_weekdays(
    school_id: IdPath, body: WeekdaysBody, uow: UowDep, who: CalendarAdmin
) -> dict[str, list[int]]:
    ensure_school(who, school_id)
    services.set_weekdays(uow, school_id, body.weekdays)
    return {"weekdays": sorted(set(body.weekdays))}


@router.post("/schools/{school_id}/calendar-days")
def school_day(school_id: IdPath, body: DayBody, uow: UowDep, who: CalendarAdmin) -> dict[str, str]:
    ensure_school(who, school_id)
    services.set_day(uow, _rule(body), school_id=school_id)
    return {"day": body.day.isoformat()}


@router.delete("/schools/{school_id}/calendar-days/{day}")
def remove_school_day(school_id: IdPath, day: date, uow: UowDep, who: CalendarAdmin) -> dict[str, Any]:
    """Drops the school's own holiday or extra day; the weekday rule (or the district's day) applies."""
    ensure_school(who, school_id)
    if not services.remove_day(uow, school_id, day):
        raise not_found("calendar day")
    return {"day": day.isoformat(), "removed": True}


@router.post("/districts/{district}/calendar-days")
def district_day(district: str, body: DayBody, uow: UowDep, who: DistrictAdmin) -> dict[str, str]:
    if who.district != district:
        raise not_found("district")
    services.set_day(uow, _rule(body), district=district)
    return {"day": body.day.isoformat()}


@router.post("/tariffs", status_code=201)
def add_tariff(body: TariffBody, uow: UowDep, who: DistrictAdmin) -> dict[str, Any]:
    if body.school_id is None:
        # the defaults price every district's meals, and a district admin's reach is one district
        raise CalendarError(
            CalendarReason.DEFAULT_TARIFF_NATIONAL,
            "name the school; the default tariffs are set by the operator (python -m backend tariffs add)",
        )
    ensure_school(who, body.school_id)
    tariff = Tariff(
        body.school_id, body.plan, body.slot, body.valid_from, body.amount_tiyn, body.state_share_tiyn
    )
    services.add_tariff(uow, tariff)
    return body.model_dump(mode="json")


@router.get("/schools/{school_id}/tariffs")
def tariffs(school_id: IdPath, uow: UowDep, who: Viewer) -> dict[str, Any]:
    ensure_school(who, school_id)
    rows = services.load_tariffs(uow.session, [school_id])
    return {
        "school_id": school_id,
        "tariffs": [
            {
                "school_id": t.school_id,
                "plan": t.plan,
                "slot": t.slot,
                "valid_from": t.valid_from.isoformat(),
                "amount_tiyn": t.amount_tiyn,
                "state_share_tiyn": t.state_share_tiyn,
            }
            for t in sorted(rows, key=lambda t: (t.plan, t.slot, t.valid_from, t.school_id or 0))
        ],
    }
