"""What other features may read of the stored meals: read models, never the table classes.

Each function answers one question a caller has ("the meals of a voucher", "this meal"), so the
meal table can change shape (partitions, renamed columns) without rippling through its readers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
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


def voucher_meals(session: Session, school_id: int, voucher_id: int, *, limit: int = 200) -> list[Meal]:
    """The meals served on a voucher at its school, newest first."""
    stmt = (
        select(MealEventRow)
        .where(MealEventRow.school_id == school_id, MealEventRow.voucher_id == voucher_id)
        .order_by(MealEventRow.served_at.desc())
        .limit(limit)
    )
    return [_meal(r) for r in session.scalars(stmt)]


def served_at(session: Session, meals: Collection[tuple[int, bytes]]) -> dict[bytes, datetime]:
    """When each of these (school, event id) meals was served (a meal not on record is left out)."""
    if not meals:
        return {}
    stmt = select(MealEventRow.id, MealEventRow.served_at).where(
        MealEventRow.school_id.in_(sorted({school for school, _ in meals})),
        MealEventRow.id.in_(sorted({event_id for _, event_id in meals})),
    )
    return {event_id: at for event_id, at in session.execute(stmt)}
