"""What other features may read of the stored meals: read models, never the table classes.

Each function answers one question a caller has ("the meals of a voucher", "this meal"), so the
meal table can change shape (partitions, renamed columns) without rippling through its readers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from backend.adapters.dialect import among

from .model import BILLABLE, MealStatus
from .tables import MealEventRow


@dataclass(frozen=True, slots=True)
class Meal:
    event_id: bytes
    school_id: int
    voucher_id: int | None
    pupil_id: int | None
    plan: int | None  # the voucher's plan when the meal was ingested: free (1) or discounted (2)
    slot: int | None
    served_at: datetime
    local_date: date
    status: str  # MealStatus
    flags: tuple[str, ...]

    @property
    def billable(self) -> bool:
        return self.status in BILLABLE


def _meal(row: MealEventRow) -> Meal:
    return Meal(
        event_id=row.id,
        school_id=row.school_id,
        voucher_id=row.voucher_id,
        pupil_id=row.pupil_id,
        plan=row.plan,
        slot=row.slot,
        served_at=row.served_at,
        local_date=row.local_date,
        status=row.status,
        flags=tuple(row.flags or ()),
    )


def meal(session: Session, event_id: bytes) -> Meal | None:
    row = session.get(MealEventRow, event_id)
    return None if row is None else _meal(row)


def voucher_meals(session: Session, school_id: int, voucher_id: int, *, limit: int = 200) -> list[Meal]:
    """The meals served on a voucher at its school, newest first."""
    stmt = (
        select(MealEventRow)
        .where(MealEventRow.school_id == school_id, MealEventRow.voucher_id == voucher_id)
        .order_by(MealEventRow.served_at.desc())
        .limit(limit)
    )
    return [_meal(r) for r in session.scalars(stmt)]


def _school_meals_where(
    school_ids: Collection[int], start: date, end: date, statuses: Collection[str]
) -> list[ColumnElement[bool]]:
    where = [
        MealEventRow.school_id.in_(sorted(school_ids)),
        MealEventRow.local_date >= start,
        MealEventRow.local_date <= end,
    ]
    if statuses:
        where.append(MealEventRow.status.in_(sorted(statuses)))
    return where


def school_meals(
    session: Session,
    school_ids: Collection[int],
    start: date,
    end: date,
    *,
    statuses: Collection[str] = (),
    offset: int = 0,
    limit: int | None = None,
) -> list[Meal]:
    """The meals of these schools from `start` to `end` (local dates, inclusive), optionally only in these
    statuses, in the order they were served; `offset`/`limit` read one page of them."""
    if not school_ids:
        return []
    stmt = (
        select(MealEventRow)
        .where(*_school_meals_where(school_ids, start, end, statuses))
        .order_by(MealEventRow.local_date, MealEventRow.served_at, MealEventRow.id)
        .offset(offset)
        .limit(limit)
    )
    return [_meal(r) for r in session.scalars(stmt)]


def count_school_meals(
    session: Session, school_ids: Collection[int], start: date, end: date, *, statuses: Collection[str] = ()
) -> int:
    """How many meals `school_meals` gives with the same arguments."""
    if not school_ids:
        return 0
    stmt = (
        select(func.count())
        .select_from(MealEventRow)
        .where(*_school_meals_where(school_ids, start, end, statuses))
    )
    return int(session.scalar(stmt) or 0)


def voucher_day_counts(session: Session, school_id: int, day: date) -> dict[tuple[int, str], int]:
    """How many meals each voucher had at a school on a local day, by status."""
    rows = session.execute(
        select(MealEventRow.voucher_id, MealEventRow.status, func.count())
        .where(MealEventRow.school_id == school_id, MealEventRow.local_date == day)
        .group_by(MealEventRow.voucher_id, MealEventRow.status)
    )
    return {(vid, status): int(n) for vid, status, n in rows if vid is not None}


def slot_meal_ids(session: Session, school_id: int, day: date, slot: int) -> list[bytes]:
    """The events of the meals a school served in one slot of a day."""
    stmt = select(MealEventRow.id).where(
        MealEventRow.school_id == school_id, MealEventRow.local_date == day, MealEventRow.slot == slot
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class PupilMeal:
    event_id: bytes
    pupil_id: int
    served_at: datetime


def served_meals(session: Session, meals: Collection[tuple[int, Collection[bytes]]]) -> list[PupilMeal]:
    """Of these (school, event ids), the meals on record that name a pupil, in no particular order."""
    schools = sorted({school for school, ids in meals if ids})
    if not schools:
        return []
    ids = sorted({event_id for _, event_ids in meals for event_id in event_ids})
    stmt = select(MealEventRow.id, MealEventRow.pupil_id, MealEventRow.served_at).where(
        among(session, MealEventRow.school_id, schools),
        among(session, MealEventRow.id, ids),
        MealEventRow.pupil_id.is_not(None),
    )
    return [
        PupilMeal(event_id, pupil_id, at)
        for event_id, pupil_id, at in session.execute(stmt)
        if pupil_id is not None
    ]


# --- billable meals, aggregated in SQL (billing's timesheet, act and reconciliation) ----------------


@dataclass(frozen=True, slots=True)
class SlotTally:
    """Billable meals of one school on one day in one slot under one plan."""

    school_id: int
    local_date: date
    slot: int
    plan: int
    meals: int


@dataclass(frozen=True, slots=True)
class PupilTally:
    """Billable meals of one pupil on one day under one plan."""

    school_id: int
    pupil_id: int
    plan: int
    local_date: date
    meals: int


def _in_period(school_ids: Collection[int], first: date, last: date) -> list[ColumnElement[bool]]:
    return [MealEventRow.school_id.in_(school_ids), MealEventRow.local_date.between(first, last)]


def _billable(school_ids: Collection[int], first: date, last: date) -> list[ColumnElement[bool]]:
    """Billable: ok or accepted by an admin, and priceable (pupil, slot and plan are known)."""
    return [
        *_in_period(school_ids, first, last),
        MealEventRow.status.in_(BILLABLE),
        MealEventRow.slot.is_not(None),
        MealEventRow.plan.is_not(None),
        MealEventRow.pupil_id.is_not(None),
    ]


def _nn(value: int | None) -> int:
    """Columns the billable filter guarantees are set."""
    assert value is not None
    return value


def billable_by_slot(
    session: Session, school_ids: Collection[int], first: date, last: date
) -> list[SlotTally]:
    """Billable meals from `first` to `last` (local dates), counted per school, day, slot and plan."""
    E = MealEventRow
    stmt = (
        select(E.school_id, E.local_date, E.slot, E.plan, func.count())
        .where(*_billable(school_ids, first, last))
        .group_by(E.school_id, E.local_date, E.slot, E.plan)
    )
    return [SlotTally(s, d, _nn(slot), _nn(plan), n) for s, d, slot, plan, n in session.execute(stmt)]


def billable_by_pupil(
    session: Session, school_ids: Collection[int], first: date, last: date
) -> list[PupilTally]:
    """Billable meals from `first` to `last`, counted per school, pupil, plan and day."""
    E = MealEventRow
    stmt = (
        select(E.school_id, E.pupil_id, E.plan, E.local_date, func.count())
        .where(*_billable(school_ids, first, last))
        .group_by(E.school_id, E.pupil_id, E.plan, E.local_date)
    )
    return [PupilTally(s, _nn(p), _nn(plan), d, n) for s, p, plan, d, n in session.execute(stmt)]


def held_from_billing(
    session: Session, school_ids: Collection[int], first: date, last: date
) -> dict[int, int]:
    """Meals per school held out of billing: flagged and not yet decided, or billable but not priceable."""
    E = MealEventRow
    unpriced = (E.status == MealStatus.FLAGGED) | (
        E.status.in_(BILLABLE) & (E.slot.is_(None) | E.plan.is_(None) | E.pupil_id.is_(None))
    )
    stmt = (
        select(E.school_id, func.count())
        .where(*_in_period(school_ids, first, last), unpriced)
        .group_by(E.school_id)
    )
    return {school_id: n for school_id, n in session.execute(stmt)}


def billable_meals(session: Session, school_id: int, first: date, last: date) -> list[tuple[date, int, int]]:
    """Each billable meal of a school, one by one: (local date, slot, plan)."""
    E = MealEventRow
    stmt = select(E.local_date, E.slot, E.plan).where(*_billable([school_id], first, last))
    return [(d, _nn(slot), _nn(plan)) for d, slot, plan in session.execute(stmt)]


def billable_status_count(session: Session, school_id: int, first: date, last: date) -> int:
    """Meals of a school in a billable state, priceable or not."""
    stmt = select(func.count()).where(
        *_in_period([school_id], first, last), MealEventRow.status.in_(BILLABLE)
    )
    return session.scalar(stmt) or 0


def day_counts(
    session: Session, school_ids: Collection[int], day: date
) -> dict[int, list[tuple[int, int, str, int]]]:
    """A local day's meals per school, counted by (plan, slot, status); an unknown plan or slot is 0."""
    E = MealEventRow
    out: dict[int, list[tuple[int, int, str, int]]] = defaultdict(list)
    # One expression object each, so PostgreSQL sees the same GROUP BY expression as in the SELECT.
    plan = func.coalesce(E.plan, literal_column("0"))
    slot = func.coalesce(E.slot, literal_column("0"))
    stmt = (
        select(E.school_id, plan, slot, E.status, func.count())
        .where(E.school_id.in_(school_ids), E.local_date == day)
        .group_by(E.school_id, plan, slot, E.status)
    )
    for school_id, plan_no, slot_no, status, n in session.execute(stmt):
        out[school_id].append((plan_no, slot_no, status, n))
    return out


@dataclass(frozen=True, slots=True)
class ServedMeal:
    served_at: datetime
    slot: int | None
    pupil_id: int | None
    terminal_id: int
    status: str


def served_on(session: Session, school_id: int, day: date, *, limit: int = 5000) -> list[ServedMeal]:
    """The school's meals of one local day, by slot and time (the canteen's served list)."""
    stmt = (
        select(
            MealEventRow.served_at,
            MealEventRow.slot,
            MealEventRow.pupil_id,
            MealEventRow.terminal_id,
            MealEventRow.status,
        )
        .where(MealEventRow.school_id == school_id, MealEventRow.local_date == day)
        .order_by(MealEventRow.slot, MealEventRow.served_at)
        .limit(limit)
    )
    return [ServedMeal(*row) for row in session.execute(stmt)]
