"""Admin review of flagged meals: list what is held out of billing, accept or reject it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.errors import DomainError, not_found
from backend.unit_of_work import UnitOfWork

from .model import Decision, MealStatus, ReviewReason
from .tables import MealEventRow, MealFlagRow


@dataclass(frozen=True, slots=True)
class FlaggedMeal:
    event_id: bytes
    school_id: int
    terminal_id: int
    voucher_id: int | None
    local_date: date
    slot: int | None
    served_at: datetime
    status: str
    flags: tuple[tuple[str, str], ...]  # (code, detail)


def flagged_meals(
    session: Session,
    school_ids: frozenset[int],
    *,
    school_id: int | None = None,
    include_decided: bool = False,
) -> list[FlaggedMeal]:
    wanted = [school_id] if school_id is not None else sorted(school_ids)
    statuses = [MealStatus.FLAGGED.value]
    if include_decided:
        statuses += [MealStatus.ACCEPTED_BY_ADMIN.value, MealStatus.REJECTED_BY_ADMIN.value]
    meals = session.scalars(
        select(MealEventRow)
        .where(
            MealEventRow.school_id.in_([s for s in wanted if s in school_ids]),
            MealEventRow.status.in_(statuses),
        )
        .order_by(MealEventRow.local_date, MealEventRow.served_at)
        .limit(5000)
    ).all()
    flags: dict[bytes, list[tuple[str, str]]] = {m.id: [] for m in meals}
    if meals:
        for event_id, code, detail in session.execute(
            select(MealFlagRow.event_id, MealFlagRow.code, MealFlagRow.detail)
            .where(MealFlagRow.event_id.in_(list(flags)))
            .order_by(MealFlagRow.id)
        ):
            flags[event_id].append((code, detail))
    return [
        FlaggedMeal(
            m.id,
            m.school_id,
            m.terminal_id,
            m.voucher_id,
            m.local_date,
            m.slot,
            m.served_at,
            m.status,
            tuple(flags[m.id]),
        )
        for m in meals
    ]


def decide(
    uow: UnitOfWork,
    event_id: bytes,
    decision: Decision,
    *,
    admin_id: int,
    school_ids: frozenset[int],
    now: datetime,
    note: str | None = None,
) -> str:
    """Accept (billable from now on) or reject a flagged meal; a decided meal cannot be decided again."""
    session = uow.session
    meal = session.scalars(
        for_update(session, select(MealEventRow).where(MealEventRow.id == event_id))
    ).first()
    if meal is None or meal.school_id not in school_ids:
        raise not_found("meal")
    if meal.status != MealStatus.FLAGGED.value:
        raise DomainError(ReviewReason.NOT_FLAGGED, f"the meal is {meal.status}, nothing to decide")
    meal.status = (
        MealStatus.ACCEPTED_BY_ADMIN.value
        if decision is Decision.ACCEPT
        else MealStatus.REJECTED_BY_ADMIN.value
    )
    for flag in session.scalars(select(MealFlagRow).where(MealFlagRow.event_id == event_id)):
        flag.decided_by, flag.decided_at, flag.decision, flag.note = admin_id, now, decision.value, note
    uow.commit()
    return meal.status
