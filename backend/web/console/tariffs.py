"""The district admin's tariffs and plans: the plans (free, discounted) with the categories that give
each, every tariff period in force for a school (its own and the defaults, with the day each ends), and
a form for a new period. The rule is the API's: backend.calendar.services.add_tariff."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response

from backend.auth import Role, ensure_school
from backend.billing.model import format_tenge
from backend.calendar import services as calendar
from backend.calendar.model import CalendarReason, Tariff, tariff_periods, tiyn_of
from backend.deps import UowDep
from backend.eligibility.categories import all_categories
from backend.errors import CommonReason, DomainError
from backend.roster.grades import Plan

from ..forms import FormDep, PageDep
from ..pages import redirect
from ..texts import N_, reason_text
from .common import ConsoleRoute, school_of, schools_in_scope, show, staff

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PLANS: dict[int, str] = {Plan.FREE: N_("Free"), Plan.DISCOUNTED: N_("Discounted")}
# Where a refusal is shown; a badly typed amount (TARIFF_BAD_AMOUNT) at the field that was being read.
FIELD_OF: dict[str, str] = {
    CalendarReason.TARIFF_OVERLAPS: "valid_from",
    CalendarReason.TARIFF_NOT_POSITIVE: "amount",
    CalendarReason.BAD_TARIFF: "state_share",
}


def _tariffs_page(
    pc: PageDep,
    uow: UowDep,
    school: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    session = uow.session
    schools = schools_in_scope(session, me)
    slots = calendar.load_calendar(session, school).slots
    periods = tariff_periods(calendar.load_tariffs(session, [school]))
    categories = sorted((c for c in all_categories(session).values() if c.active), key=lambda c: c.code)
    return show(
        pc,
        me,
        "console/tariffs.html",
        status=status,
        school=school,
        school_name=dict(schools).get(school, ""),
        schools=schools,
        periods=periods,
        plans=PLANS,
        plan_options=[(p, pc.gettext(t)) for p, t in PLANS.items()],
        slot_options=[(s.slot, f"{s.slot} ({s.start:%H:%M}–{s.end:%H:%M})") for s in slots] or [(1, "1")],
        categories=categories,
        tenge=format_tenge,
        errors=errors or {},
        form=form or {},
    )


@router.get("/staff/tariffs")
def tariffs(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    return _tariffs_page(pc, uow, school_of(pc, me))


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(CommonReason.CHOOSE_ONE, "the first day is YYYY-MM-DD") from None


@router.post("/staff/tariffs")
def add_tariff(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    school_text = form.get("school", "")
    if not school_text.isdigit():
        raise DomainError(CommonReason.CHOOSE_ONE, "choose the school")
    school = int(school_text)
    ensure_school(me, school)  # the API's scope check: a school of the admin's district only
    field = "plan"
    try:
        plan_text, slot_text = form.get("plan", ""), form.get("slot", "")
        if not plan_text.isdigit() or not slot_text.isdigit():
            raise DomainError(CommonReason.CHOOSE_ONE, "choose the plan and the slot")
        field = "amount"
        amount = tiyn_of(form.get("amount", ""))
        field = "state_share"
        # on the free plan the state pays all of it; the share field is for the discounted plan
        share = amount if int(plan_text) == Plan.FREE else tiyn_of(form.get("state_share", ""))
        field = "valid_from"
        start = _day(form.get("valid_from", ""))
        calendar.add_tariff(uow, Tariff(school, int(plan_text), int(slot_text), start, amount, share))
    except DomainError as exc:
        uow.rollback()
        field = FIELD_OF.get(exc.reason, field)
        errors = {field: pc.gettext(reason_text(exc.reason))}
        return _tariffs_page(pc, uow, school, status=400, errors=errors, form=form)
    return redirect(pc, f"/staff/tariffs?school={school}&done=added")
