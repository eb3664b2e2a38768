"""A voucher's meal history as its parent sees it: each served meal, whether it counts, notice, rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.feedback.tables import RatingRow
from backend.ingest.model import BILLABLE
from backend.ingest.tables import MealEventRow

from .tables import NoticeRow


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
    notified_at: datetime | None  # when the notice went out; None while it waits in the outbox
    rating: int | None


def meal_history(session: Session, voucher_id: int, *, limit: int = 200) -> list[MealRecord]:
    """Newest first. The caller has already checked that the parent may see this voucher."""
    rows = session.execute(
        select(MealEventRow, NoticeRow.sent_at, RatingRow.stars)
        .outerjoin(NoticeRow, NoticeRow.event_id == MealEventRow.id)
        .outerjoin(RatingRow, RatingRow.event_id == MealEventRow.id)
        .where(MealEventRow.voucher_id == voucher_id)
        .order_by(MealEventRow.served_at.desc())
        .limit(limit)
    ).all()
    return [
        MealRecord(
            event_id=m.id.hex(),
            served_at=m.served_at,
            local_date=m.local_date,
            slot=m.slot,
            school_id=m.school_id,
            plan=m.plan,
            status=m.status,
            billable=m.status in BILLABLE,
            flags=tuple(m.flags or ()),
            notified_at=sent_at,
            rating=stars,
        )
        for m, sent_at, stars in rows
    ]
