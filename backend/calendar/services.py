"""Calendar use cases: read a school's calendar and tariffs; set slots, weekdays, days and tariffs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from backend.errors import not_found
from backend.roster.tables import School
from backend.unit_of_work import UnitOfWork

from .model import (
    WEEKDAYS_MON_FRI,
    CalendarError,
    CalendarReason,
    DayRule,
    SchoolCalendar,
    SlotTime,
    Tariff,
    check_new_period,
    check_slots,
    check_weekdays,
    merge_rules,
)
from .tables import CalendarDayRow, MealSlotRow, SchoolWeekRow, TariffRow


def _minute_time(m: int) -> time:
    return time(m // 60, m % 60)


def _rule(row: CalendarDayRow) -> DayRule:
    slots = None if row.slots is None else tuple(int(s) for s in row.slots.split(",") if s)
    return DayRule(day=row.day, school_day=row.school_day, slots=slots, note=row.note)


def load_calendar(session: Session, school_id: int) -> SchoolCalendar:
    school = session.get(School, school_id)
    if school is None:
        raise not_found("school")
    week = session.get(SchoolWeekRow, school_id)
    weekdays = frozenset(int(d) for d in week.weekdays) if week else WEEKDAYS_MON_FRI
    slots = session.scalars(select(MealSlotRow).where(MealSlotRow.school_id == school_id)).all()
    rows = session.scalars(
        select(CalendarDayRow).where(
            or_(CalendarDayRow.school_id == school_id, CalendarDayRow.district == school.district)
        )
    ).all()
    return SchoolCalendar(
        school_id=school_id,
        weekdays=weekdays,
        slots=tuple(
            sorted(
                (SlotTime(s.slot, _minute_time(s.start_minute), _minute_time(s.end_minute)) for s in slots),
                key=lambda s: s.start,
            )
        ),
        rules=merge_rules(
            (_rule(r) for r in rows if r.school_id is None),
            (_rule(r) for r in rows if r.school_id is not None),
        ),
    )


def set_slots(uow: UnitOfWork, school_id: int, slots: Sequence[SlotTime]) -> None:
    session = uow.session
    ordered = check_slots(slots)
    session.execute(delete(MealSlotRow).where(MealSlotRow.school_id == school_id))
    session.add_all(
        MealSlotRow(school_id=school_id, slot=s.slot, start_minute=s.start_minute, end_minute=s.end_minute)
        for s in ordered
    )
    uow.commit()


def set_weekdays(uow: UnitOfWork, school_id: int, weekdays: Iterable[int]) -> None:
    session = uow.session
    days = check_weekdays(weekdays)
    row = session.get(SchoolWeekRow, school_id)
    text = "".join(str(d) for d in sorted(days))
    if row is None:
        session.add(SchoolWeekRow(school_id=school_id, weekdays=text))
    else:
        row.weekdays = text
    uow.commit()


def set_day(
    uow: UnitOfWork, rule: DayRule, *, school_id: int | None = None, district: str | None = None
) -> None:
    """Holiday or explicit school day, for one school or a whole district; replaces an earlier row."""
    if (school_id is None) == (district is None):
        raise ValueError("give exactly one of school_id and district")
    if rule.slots is not None and (
        not rule.school_day or not rule.slots or any(not 1 <= s <= 8 for s in rule.slots)
    ):
        raise CalendarError(CalendarReason.UNKNOWN_SLOT, "a school day lists slots 1..8; a holiday none")
    session = uow.session
    row = session.scalars(
        select(CalendarDayRow).where(
            CalendarDayRow.day == rule.day,
            CalendarDayRow.school_id == school_id
            if school_id is not None
            else CalendarDayRow.district == district,
        )
    ).first()
    slots = None if rule.slots is None else ",".join(str(s) for s in rule.slots)
    if row is None:
        session.add(
            CalendarDayRow(
                school_id=school_id,
                district=district,
                day=rule.day,
                school_day=rule.school_day,
                slots=slots,
                note=rule.note,
            )
        )
    else:
        row.school_day, row.slots, row.note = rule.school_day, slots, rule.note
    uow.commit()


@dataclass(frozen=True, slots=True)
class DayEntry:
    """An explicit day as a school sees it: its own row (which it may remove) or its district's."""

    rule: DayRule
    own: bool


def days_of_school(session: Session, school_id: int, first: date | None = None) -> list[DayEntry]:
    """The school's own holidays and extra days and its district's, by day; a school's row hides the
    district's row of the same day (as the calendar merges them)."""
    school = session.get(School, school_id)
    if school is None:
        raise not_found("school")
    stmt = select(CalendarDayRow).where(
        or_(CalendarDayRow.school_id == school_id, CalendarDayRow.district == school.district)
    )
    if first is not None:
        stmt = stmt.where(CalendarDayRow.day >= first)
    merged: dict[date, DayEntry] = {}
    for row in session.scalars(stmt):
        own = row.school_id is not None
        if own or row.day not in merged:
            merged[row.day] = DayEntry(_rule(row), own)
    return [merged[d] for d in sorted(merged)]


def remove_day(uow: UnitOfWork, school_id: int, day: date) -> bool:
    """Drops the school's own row for `day` (the district's row, if any, applies again); whether
    there was one."""
    removed = uow.session.execute(
        delete(CalendarDayRow).where(CalendarDayRow.school_id == school_id, CalendarDayRow.day == day)
    )
    uow.commit()
    return bool(getattr(removed, "rowcount", 0))


def add_tariff(uow: UnitOfWork, tariff: Tariff) -> None:
    """A new price period from `valid_from` on (it ends where a later period starts); a period of the
    same school, plan and slot starting the same day is refused TARIFF_OVERLAPS (check_new_period)."""
    session = uow.session
    same_key = session.scalars(
        select(TariffRow).where(
            TariffRow.school_id.is_(None)
            if tariff.school_id is None
            else TariffRow.school_id == tariff.school_id,
            TariffRow.plan == tariff.plan,
            TariffRow.slot == tariff.slot,
        )
    ).all()
    check_new_period((_tariff(r) for r in same_key), tariff)
    session.add(
        TariffRow(
            school_id=tariff.school_id,
            plan=tariff.plan,
            slot=tariff.slot,
            valid_from=tariff.valid_from,
            amount_tiyn=tariff.amount_tiyn,
            state_share_tiyn=tariff.state_share_tiyn,
        )
    )
    uow.commit()


def _tariff(r: TariffRow) -> Tariff:
    return Tariff(r.school_id, r.plan, r.slot, r.valid_from, int(r.amount_tiyn), int(r.state_share_tiyn))


def load_tariffs(session: Session, school_ids: Iterable[int] | None = None) -> list[Tariff]:
    """The default tariffs and those of `school_ids` (all schools' when None)."""
    stmt = select(TariffRow)
    if school_ids is not None:
        stmt = stmt.where(or_(TariffRow.school_id.is_(None), TariffRow.school_id.in_(list(school_ids))))
    return [_tariff(r) for r in session.scalars(stmt)]
