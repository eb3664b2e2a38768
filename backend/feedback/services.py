"""Feedback use cases: rate a meal, file and resolve complaints, ratings per school and supplier."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.bulk import chunks
from backend.auth import Principal, Role
from backend.delivery.services import Delivery, deliveries_of, enqueue
from backend.errors import DomainError, not_found
from backend.ingest import queries as ingest_queries
from backend.ingest.model import MealStatus
from backend.roster.suppliers import supplier_on
from backend.roster.tables import Pupil, School
from backend.unit_of_work import UnitOfWork

from .eotinish import EOTINISH, appeal
from .model import (
    OPEN_STATUSES,
    ComplaintStatus,
    FeedbackReason,
    RatingSummary,
    check_complaint,
    check_rating,
    summarise,
)
from .tables import ComplaintRow, RatingRow


def rate_meal(
    uow: UnitOfWork, parent: Principal, event_id: bytes, stars: int, text: str | None, *, now: datetime
) -> RatingRow:
    session = uow.session
    text = check_rating(stars, text)
    meal = ingest_queries.meal(session, event_id)
    if meal is None or meal.pupil_id is None or meal.pupil_id not in parent.pupil_ids:
        raise not_found("meal")
    if meal.status == MealStatus.REJECTED_BY_ADMIN:
        raise DomainError(FeedbackReason.NOT_SERVED, "this meal was struck off by the school")
    if session.scalar(select(RatingRow.id).where(RatingRow.event_id == event_id)) is not None:
        raise DomainError(FeedbackReason.ALREADY_RATED, "this meal has a rating already")
    row = RatingRow(
        event_id=event_id,
        parent_id=parent.parent_id,
        pupil_id=meal.pupil_id,
        school_id=meal.school_id,
        supplier_id=supplier_on(session, meal.school_id, meal.local_date),
        stars=stars,
        text=text,
        created_at=now,
    )
    session.add(row)
    try:
        uow.commit()  # a concurrent twin fails here on the unique event id
    except IntegrityError:
        raise DomainError(FeedbackReason.ALREADY_RATED, "this meal has a rating already") from None
    return row


def file_complaint(
    uow: UnitOfWork, parent: Principal, pupil_id: int, text: str, *, event_id: bytes | None, now: datetime
) -> ComplaintRow:
    session = uow.session
    text = check_complaint(text)
    if pupil_id not in parent.pupil_ids:
        raise not_found("child")
    meal_school: int | None = None
    if event_id is not None:
        meal = ingest_queries.meal(session, event_id)
        if meal is None or meal.pupil_id != pupil_id:
            raise not_found("meal")
        meal_school = meal.school_id
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise not_found("child")
    school = session.get(School, meal_school or pupil.school_id)
    assert school is not None  # foreign key
    row = ComplaintRow(
        parent_id=parent.parent_id,
        pupil_id=pupil_id,
        school_id=school.id,
        district=school.district,
        event_id=event_id,
        text=text,
        status=ComplaintStatus.RECEIVED.value,
        created_at=now,
    )
    session.add(row)
    uow.commit()  # received: the district reads it and decides whether it goes to e-Otinish (forward)
    return row


def _visible(admin: Principal) -> ColumnElement[bool]:
    """District admins see their district's complaints; school heads their own schools'."""
    if admin.role is Role.DISTRICT_ADMIN:
        return ComplaintRow.district == admin.district
    return ComplaintRow.school_id.in_(sorted(admin.school_ids))


def _complaints(admin: Principal, status: ComplaintStatus | None) -> Select[ComplaintRow]:
    stmt = select(ComplaintRow).where(_visible(admin))
    return stmt if status is None else stmt.where(ComplaintRow.status == status.value)


def complaints(session: Session, admin: Principal, status: ComplaintStatus | None) -> list[ComplaintRow]:
    """Oldest first (the API's list; the console pages through `complaints_page`)."""
    stmt = _complaints(admin, status).order_by(ComplaintRow.created_at, ComplaintRow.id)
    return list(session.scalars(stmt.limit(2000)))


def complaints_page(
    session: Session,
    admin: Principal,
    statuses: Collection[ComplaintStatus] | None,
    *,
    offset: int,
    limit: int,
) -> tuple[list[ComplaintRow], int]:
    """One page of the complaints the caller may see (newest first) in `statuses` (all when None),
    and how many there are in all."""
    where = [_visible(admin)]
    if statuses is not None:
        where.append(ComplaintRow.status.in_(sorted(s.value for s in statuses)))
    total = session.scalar(select(func.count(ComplaintRow.id)).where(*where)) or 0
    stmt = (
        select(ComplaintRow)
        .where(*where)
        .order_by(ComplaintRow.created_at.desc(), ComplaintRow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(stmt)), int(total)


def _appeal_key(complaint_id: int) -> str:
    return f"{EOTINISH}:complaint:{complaint_id}"


def forward(uow: UnitOfWork, admin: Principal, complaint_id: int, *, now: datetime) -> ComplaintRow:
    """The district sends a received complaint to e-Otinish: the appeal is queued for the outbound
    adapter (retried, receipted); the receipt makes the complaint `forwarded` (eotinish.on_receipt)."""
    session = uow.session
    row = session.scalars(
        select(ComplaintRow).where(ComplaintRow.id == complaint_id, _visible(admin))
    ).first()
    if row is None:
        raise not_found("complaint")
    if row.status != ComplaintStatus.RECEIVED:
        raise DomainError(FeedbackReason.ALREADY_FORWARDED, f"the complaint is {row.status}")
    school = session.get(School, row.school_id)
    assert school is not None  # foreign key
    if not enqueue(session, channel=EOTINISH, key=_appeal_key(row.id), document=appeal(row, school), now=now):
        raise DomainError(FeedbackReason.ALREADY_FORWARDED, "the appeal is queued already")
    uow.commit()
    return row


def appeals(session: Session, complaint_ids: Collection[int]) -> dict[int, Delivery]:
    """The e-Otinish delivery of each of these complaints that was forwarded (queued, tries, receipt)."""
    keys = {_appeal_key(i): i for i in complaint_ids}
    return {keys[d.key]: d for d in deliveries_of(session, sorted(keys))}


def resolve(
    uow: UnitOfWork, admin: Principal, complaint_id: int, resolution: str, *, now: datetime
) -> ComplaintRow:
    row = uow.session.scalars(
        select(ComplaintRow).where(ComplaintRow.id == complaint_id, _visible(admin))
    ).first()
    if row is None:
        raise not_found("complaint")
    if row.status not in OPEN_STATUSES:
        raise DomainError(FeedbackReason.ALREADY_RESOLVED, "answered already")
    row.status, row.resolved_by, row.resolved_at = ComplaintStatus.ANSWERED.value, admin.id, now
    row.resolution = check_complaint(resolution)
    uow.commit()
    return row


def close(uow: UnitOfWork, admin: Principal, complaint_id: int, *, now: datetime) -> ComplaintRow:
    """The district closes an answered complaint (or one withdrawn before an answer)."""
    row = uow.session.scalars(
        select(ComplaintRow).where(ComplaintRow.id == complaint_id, _visible(admin))
    ).first()
    if row is None:
        raise not_found("complaint")
    if row.status == ComplaintStatus.CLOSED:
        raise DomainError(FeedbackReason.ALREADY_CLOSED, "closed already")
    row.status, row.closed_at = ComplaintStatus.CLOSED.value, now
    uow.commit()
    return row


def _summary(session: Session, *conditions: ColumnElement[bool]) -> RatingSummary:
    rows = session.execute(
        select(RatingRow.stars, func.count()).where(*conditions).group_by(RatingRow.stars)
    ).all()
    return summarise((int(s), int(n)) for s, n in rows)


def slot_ratings(session: Session, event_ids: list[bytes]) -> tuple[int, int]:
    """(how many ratings, their stars summed) of these meals: what a menu's ratings are."""
    n, total = 0, 0
    for chunk in chunks(event_ids):
        count, stars = session.execute(
            select(func.count(RatingRow.id), func.coalesce(func.sum(RatingRow.stars), 0)).where(
                RatingRow.event_id.in_(chunk)
            )
        ).one()
        n, total = n + int(count), total + int(stars)
    return n, total


def school_ratings(session: Session, school_id: int) -> RatingSummary:
    return _summary(session, RatingRow.school_id == school_id)


def supplier_ratings(session: Session, supplier_id: int, school_ids: frozenset[int]) -> RatingSummary:
    """A supplier's ratings over the schools the caller may see."""
    return _summary(
        session, RatingRow.supplier_id == supplier_id, RatingRow.school_id.in_(sorted(school_ids))
    )


def complaints_of_parent(session: Session, parent: Principal) -> list[ComplaintRow]:
    """The complaints this parent filed, newest first, with their status."""
    return list(
        session.scalars(
            select(ComplaintRow)
            .where(ComplaintRow.parent_id == parent.parent_id)
            .order_by(ComplaintRow.created_at.desc(), ComplaintRow.id.desc())
            .limit(500)
        )
    )
