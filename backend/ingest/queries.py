"""What other features may read of the stored meals: read models, never the table classes.

Each function answers one question a caller has ("the meals of a voucher", "this meal"), so the
meal table can change shape (partitions, renamed columns) without rippling through its readers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .model import BILLABLE
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


def voucher_meals(session: Session, voucher_id: int, *, limit: int = 200) -> list[Meal]:
    """The meals served on a voucher, newest first."""
    stmt = (
        select(MealEventRow)
        .where(MealEventRow.voucher_id == voucher_id)
        .order_by(MealEventRow.served_at.desc())
        .limit(limit)
    )
    return [_meal(r) for r in session.scalars(stmt)]


def school_meals(
    session: Session, school_ids: Collection[int], start: date, end: date, *, statuses: Collection[str] = ()
) -> list[Meal]:
    """The meals of these schools from `start` to `end` (local dates, inclusive), optionally only in these
    statuses, in the order they were served."""
    if not school_ids:
        return []
    stmt = select(MealEventRow).where(
        MealEventRow.school_id.in_(sorted(school_ids)),
        MealEventRow.local_date >= start,
        MealEventRow.local_date <= end,
    )
    if statuses:
        stmt = stmt.where(MealEventRow.status.in_(sorted(statuses)))
    stmt = stmt.order_by(MealEventRow.local_date, MealEventRow.served_at, MealEventRow.id)
    return [_meal(r) for r in session.scalars(stmt)]


def day_counts(session: Session, school_id: int, day: date) -> dict[tuple[int, str], int]:
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


def served_at(session: Session, event_ids: Collection[bytes]) -> dict[bytes, datetime]:
    """When each of these meals was served (a meal not on record is left out), in one query."""
    if not event_ids:
        return {}
    stmt = select(MealEventRow.id, MealEventRow.served_at).where(MealEventRow.id.in_(sorted(set(event_ids))))
    return {event_id: at for event_id, at in session.execute(stmt)}
