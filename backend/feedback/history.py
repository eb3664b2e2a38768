"""A voucher's meal history as its parent sees it: each served meal, whether it counts, notice, rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.model import Principal
from backend.ingest.queries import voucher_meals
from backend.notify.delivery import meal_notified_at
from backend.vouchers.services import voucher_for_parent

from .tables import RatingRow


@dataclass(frozen=True, slots=True)
class MealRecord:
    event_id: str  # hex; the parent rates a meal by it
    served_at: datetime
    local_date: date
    slot: int | None
    school_id: int
    plan: int | None  # free (1) or discounted (2), the voucher's plan when the meal was ingested
    status: str
    billable: bool
    flags: tuple[str, ...]
    notified_at: datetime | None  # when its notice reached the parent's list; None while it waits
    rating: int | None


def meal_history(session: Session, principal: Principal, voucher_id: int) -> list[MealRecord]:
    """Newest first, for a parent of the voucher's child (anyone else: not found)."""
    voucher = voucher_for_parent(session, principal, voucher_id)
    meals = voucher_meals(session, voucher.school_id, voucher_id)
    ids = [m.event_id for m in meals]
    sent = meal_notified_at(session, ids)
    rated = select(RatingRow.event_id, RatingRow.stars).where(RatingRow.event_id.in_(ids))
    stars: dict[bytes, int] = {event_id: n for event_id, n in session.execute(rated)}
    return [
        MealRecord(
            event_id=m.event_id.hex(),
            served_at=m.served_at,
            local_date=m.local_date,
            slot=m.slot,
            school_id=m.school_id,
            plan=m.plan,
            status=m.status,
            billable=m.billable,
            flags=m.flags,
            notified_at=sent.get(m.event_id),
            rating=stars.get(m.event_id),
        )
        for m in meals
    ]
