"""The school's calendar and menu: the head (or the district admin, for a school of the district) sets
the teaching weekdays, the meal slots with their times, holidays and extra school days, and publishes the
menu per day and slot (dishes in Kazakh and Russian, optional allergens); the supplier reads the menus
of its schools with the ratings of the meals served under each. Services: backend.calendar,
backend.menu (the API's); the school's scope is the API's `ensure_school`."""

from __future__ import annotations

from datetime import date, time, timedelta

from fastapi import APIRouter, Response

from backend.auth import Role, ensure_school
from backend.calendar import services as calendar
from backend.calendar.model import MAX_SLOTS, CalendarError, CalendarReason, DayRule, SlotTime
from backend.clock import local_date
from backend.deps import UowDep
from backend.errors import CommonReason, DomainError, not_found
from backend.menu import services as menus
from backend.menu.model import ALLERGENS, MAX_DISHES, MenuReason

from ..forms import FormDep, PageDep
from ..pages import PageContext, redirect
from ..texts import MEAL_SLOTS, reason_text
from .common import PAGE, ConsoleRoute, page_number, paged, school_of, show, staff
from .school import school_options
from .words import WEEKDAYS

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
EDITORS = (Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN)
SLOT_ROWS = 4  # the form offers slots 1..4 (breakfast, lunch, snack, one more); the service takes 1..8
DISH_ROWS = 6  # empty dish rows the menu form offers beyond the published ones
WEEK = 7
ALLERGEN_CODES = tuple(sorted(ALLERGENS))


def _school_from_form(pc: PageContext, form: dict[str, str]) -> int:
    me = staff(pc, *EDITORS)
    text = form.get("school", "")
    school_id = int(text) if text.isdigit() else 0
    ensure_school(me, school_id)
    return school_id


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(CommonReason.INVALID_REQUEST, "a date is YYYY-MM-DD") from None


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise CalendarError(CalendarReason.BAD_SLOT, f"{text!r} is not a time HH:MM") from None


def slot_name(pc: PageContext, slot: int) -> str:
    """A meal slot's name in the page's language (slots past the named ones are numbered)."""
    return pc.gettext(MEAL_SLOTS[slot]) if slot in MEAL_SLOTS else pc.gettext("Meal %(n)s", n=slot)


# --- the calendar ----------------------------------------------------------------------------------------


def _calendar_page(
    pc: PageContext,
    uow: UowDep,
    school_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    me = staff(pc, *EDITORS)
    cal = calendar.load_calendar(uow.session, school_id)
    today = local_date(pc.ctx.clock.now())
    days = calendar.days_of_school(uow.session, school_id, today - timedelta(days=31))
    page = page_number(pc)
    by_slot = {s.slot: s for s in cal.slots}
    return show(
        pc,
        me,
        "console/calendar.html",
        status=status,
        school_id=school_id,
        schools=school_options(uow, me.school_ids),
        weekdays=cal.weekdays,
        slot_rows=[(n, by_slot.get(n)) for n in range(1, max(SLOT_ROWS, *by_slot, 0) + 1)],
        days=paged(days[(page - 1) * PAGE : page * PAGE], len(days), page),
        upcoming=[d for d in cal.school_days(today, today + timedelta(days=13))],
        today=today,
        slot_names=MEAL_SLOTS,
        weekday_names=[pc.gettext(w) for w in WEEKDAYS],
        errors=errors or {},
        form=form or {},
    )


def _calendar_error(
    pc: PageContext, uow: UowDep, school_id: int, field: str, exc: DomainError, form: dict[str, str]
) -> Response:
    uow.rollback()
    errors = {field: pc.gettext(reason_text(exc.reason))}
    return _calendar_page(pc, uow, school_id, status=400, errors=errors, form=form)


@router.get("/staff/calendar")
def calendar_page(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *EDITORS)
    return _calendar_page(pc, uow, school_of(pc, me))


@router.post("/staff/calendar/weekdays")
def weekdays(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    school_id = _school_from_form(pc, form)
    chosen = [d for d in range(7) if form.get(f"weekday_{d}") == "1"]
    try:
        calendar.set_weekdays(uow, school_id, chosen)
    except DomainError as exc:
        return _calendar_error(pc, uow, school_id, "weekday_0", exc, form)
    return redirect(pc, f"/staff/calendar?school={school_id}&done=weekdays")


@router.post("/staff/calendar/slots")
def slots(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    school_id = _school_from_form(pc, form)
    try:
        chosen = []
        for n in range(1, MAX_SLOTS + 1):
            start, end = form.get(f"start_{n}", "").strip(), form.get(f"end_{n}", "").strip()
            if start or end:  # a row left empty: the school does not serve that slot
                chosen.append(SlotTime(n, _time(start), _time(end)))
        calendar.set_slots(uow, school_id, chosen)
    except DomainError as exc:
        return _calendar_error(pc, uow, school_id, "start_1", exc, form)
    return redirect(pc, f"/staff/calendar?school={school_id}&done=slots")


@router.post("/staff/calendar/days")
def add_day(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    school_id = _school_from_form(pc, form)
    kind = form.get("kind", "")
    try:
        if kind not in ("holiday", "school_day"):
            raise DomainError(CommonReason.CHOOSE_ONE, "a holiday or a school day")
        note = form.get("note", "").strip()[:200]
        calendar.set_day(
            uow, DayRule(_day(form.get("day", "")), kind == "school_day", None, note), school_id=school_id
        )
    except DomainError as exc:
        field = "kind" if exc.reason == CommonReason.CHOOSE_ONE else "day"
        return _calendar_error(pc, uow, school_id, field, exc, form)
    return redirect(pc, f"/staff/calendar?school={school_id}&done=day")


@router.post("/staff/calendar/days/{day}/remove")
def remove_day(day: str, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    school_id = _school_from_form(pc, form)
    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        raise not_found("calendar day") from None
    if not calendar.remove_day(uow, school_id, chosen):
        raise not_found("calendar day")
    return redirect(pc, f"/staff/calendar?school={school_id}&done=removed")


# --- the menu --------------------------------------------------------------------------------------------


def _week_start(pc: PageContext) -> date:
    text = pc.request.query_params.get("start", "")
    try:
        return date.fromisoformat(text) if text else local_date(pc.ctx.clock.now())
    except ValueError:
        return local_date(pc.ctx.clock.now())


@router.get("/staff/menu")
def menu(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *EDITORS, Role.SUPPLIER)
    school_id = school_of(pc, me)
    start = _week_start(pc)
    cal = calendar.load_calendar(uow.session, school_id)
    editable = me.role in EDITORS
    entries: dict[tuple[date, int], tuple[menus.MenuEntry, menus.RatedMenu | None]]
    if editable:
        entries = {(m.day, m.slot): (m, None) for m in menus.menus(uow.session, [school_id], start, WEEK)}
    else:  # the supplier: each menu with the ratings of the meals served under it
        rated = menus.rated(uow.session, [school_id], start, WEEK)
        entries = {(r.menu.day, r.menu.slot): (r.menu, r) for r in rated}
    days = [start + timedelta(days=i) for i in range(WEEK)]
    return show(
        pc,
        me,
        "console/menu.html",
        school_id=school_id,
        schools=school_options(uow, me.school_ids),
        start=start,
        previous=start - timedelta(days=WEEK),
        following=start + timedelta(days=WEEK),
        week=[(d, cal.slots_on(d)) for d in days],
        slots={s.slot: s for s in cal.slots},
        entries=entries,
        editable=editable,
        slot_names=MEAL_SLOTS,
    )


def _menu_form(
    pc: PageContext,
    uow: UowDep,
    school_id: int,
    day: date,
    slot: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    rows: list[tuple[str, str, frozenset[str]]] | None = None,
) -> Response:
    me = staff(pc, *EDITORS)
    if rows is None:
        published = menus.menus(uow.session, [school_id], day, 1)
        rows = [(d.kk, d.ru, frozenset(d.allergens)) for m in published if m.slot == slot for d in m.dishes]
    shown = min(MAX_DISHES, max(DISH_ROWS, len(rows) + 2))  # room for two more dishes, at least
    rows = [*rows, *[("", "", frozenset[str]()) for _ in range(shown - len(rows))]]
    return show(
        pc,
        me,
        "console/menu_day.html",
        status=status,
        school_id=school_id,
        day=day,
        slot=slot,
        rows=rows,
        allergen_codes=ALLERGEN_CODES,
        slot_name=slot_name(pc, slot),
        errors=errors or {},
    )


def _menu_address(day: str, slot: int) -> date:
    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        raise not_found("menu") from None
    if not 1 <= slot <= MAX_SLOTS:
        raise not_found("menu")
    return chosen


@router.get("/staff/menu/{day}/{slot}")
def menu_day(day: str, slot: int, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *EDITORS)
    return _menu_form(pc, uow, school_of(pc, me), _menu_address(day, slot), slot)


@router.post("/staff/menu/{day}/{slot}")
def publish(day: str, slot: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, *EDITORS)
    school_id = _school_from_form(pc, form)
    chosen = _menu_address(day, slot)
    rows: list[tuple[str, str, frozenset[str]]] = []
    for i in range(1, MAX_DISHES + 1):
        kk, ru = form.get(f"kk_{i}", "").strip(), form.get(f"ru_{i}", "").strip()
        allergens = frozenset(a for a in ALLERGEN_CODES if form.get(f"allergen_{i}_{a}") == "1")
        if kk or ru or allergens:  # a row left empty is no dish
            rows.append((kk, ru, allergens))
    dishes: list[object] = [{"kk": kk, "ru": ru, "allergens": sorted(a)} for kk, ru, a in rows]
    try:
        menus.publish(uow, me, school_id, chosen, slot, dishes, pc.ctx.clock.now())
    except DomainError as exc:
        if exc.reason == "NOT_FOUND":
            raise
        uow.rollback()
        field = "kk_1" if exc.reason != MenuReason.SLOT_UNKNOWN else "slot"
        message = pc.gettext(reason_text(exc.reason))
        return _menu_form(pc, uow, school_id, chosen, slot, status=400, errors={field: message}, rows=rows)
    return redirect(pc, f"/staff/menu?school={school_id}&start={chosen.isoformat()}&done=published")
