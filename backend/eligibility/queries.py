"""What other features may read of the eligibility lists: read functions and sub-selects, never the
table classes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, Subquery, select
from sqlalchemy.orm import Session

from .model import EntryResult
from .tables import EligibilityEntry, EligibilityList


def list_ids_of_months(first: date, last: date) -> Select[int]:
    """The ids of every school's lists from month `first` to month `last` (inclusive), as a sub-select."""
    return select(EligibilityList.id).where(EligibilityList.month >= first, EligibilityList.month <= last)


def month_of_list(session: Session, list_id: int) -> date | None:
    return session.scalar(select(EligibilityList.month).where(EligibilityList.id == list_id))


def list_ids_of_schools(school_ids: Collection[int]) -> Select[int]:
    """The ids of these schools' lists, as a sub-select for the caller's own query (one round trip)."""
    return select(EligibilityList.id).where(EligibilityList.school_id.in_(sorted(school_ids)))


@dataclass(frozen=True, slots=True)
class ListedPupil:
    """A pupil the month's list returned, as the state report names them."""

    pupil_id: int
    reason: str | None
    month: date


def returned_on(session: Session, school_id: int, month: date) -> list[ListedPupil]:
    """The pupils the school's list of that month returned, with the register's reason."""
    rows = session.execute(
        select(EligibilityEntry.pupil_id, EligibilityEntry.reason, EligibilityList.month)
        .join(EligibilityList, EligibilityList.id == EligibilityEntry.list_id)
        .where(
            EligibilityList.school_id == school_id,
            EligibilityList.month == month,
            EligibilityEntry.result == EntryResult.RETURNED,
        )
        .order_by(EligibilityEntry.pupil_id)
    )
    return [ListedPupil(p, r, m) for p, r, m in rows]


def school_lists(school_ids: Collection[int]) -> Subquery:
    """These schools' lists as a sub-query with columns `list_id` and `school_id`, to join on."""
    return (
        select(EligibilityList.id.label("list_id"), EligibilityList.school_id)
        .where(EligibilityList.school_id.in_(sorted(school_ids)))
        .subquery()
    )
