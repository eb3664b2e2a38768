"""Eligibility use cases: the pedagogue forms the month's list, the head approves it, and the
cross-check against the state register confirms or returns each pupil (what follows is the campaign's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.adapters.state_registry import StateRegistry
from backend.auth.model import Principal
from backend.clock import local_date
from backend.errors import DomainError, not_found
from backend.roster.tables import Pupil
from backend.unit_of_work import UnitOfWork

from .categories import all_categories, require_category
from .model import (
    RETURNABLE,
    EntryResult,
    ListReason,
    ListStatus,
    advance,
    check_entry,
    require_draft,
    unconditional,
)
from .tables import EligibilityEntry, EligibilityList, ListReturnRow


def create_list(uow: UnitOfWork, principal: Principal, school_id: int, month: date) -> EligibilityList:
    session = uow.session
    if school_id not in principal.school_ids:
        raise not_found("school")
    if session.scalar(
        select(EligibilityList.id).where(
            EligibilityList.school_id == school_id, EligibilityList.month == month
        )
    ):
        raise DomainError(ListReason.DUPLICATE, f"the list for {month:%Y-%m} exists")
    lst = EligibilityList(school_id=school_id, month=month, status=ListStatus.DRAFT, created_by=principal.id)
    session.add(lst)
    uow.commit()
    return lst


def get_list(session: Session, principal: Principal, list_id: int, *, lock: bool = False) -> EligibilityList:
    stmt = select(EligibilityList).where(EligibilityList.id == list_id)
    lst = session.scalars(for_update(session, stmt) if lock else stmt).first()
    if lst is None or lst.school_id not in principal.school_ids:
        raise not_found("eligibility list")
    return lst


def add_entry(
    uow: UnitOfWork, principal: Principal, list_id: int, pupil_id: int, category: str | None
) -> EligibilityEntry:
    session = uow.session
    lst = get_list(session, principal, list_id, lock=True)
    require_draft(ListStatus(lst.status))
    pupil = session.get(Pupil, pupil_id)
    if pupil is None or pupil.school_id != lst.school_id:
        raise not_found("pupil")
    check_entry(pupil.grade, category)
    if category is not None:
        require_category(session, category)
    entry = EligibilityEntry(list_id=lst.id, pupil_id=pupil.id, category=category)
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        raise DomainError(ListReason.DUPLICATE, "the pupil is on the list already") from None
    uow.commit()
    return entry


def remove_entry(uow: UnitOfWork, principal: Principal, list_id: int, pupil_id: int) -> None:
    session = uow.session
    lst = get_list(session, principal, list_id, lock=True)
    require_draft(ListStatus(lst.status))
    entry = session.scalar(
        select(EligibilityEntry).where(
            EligibilityEntry.list_id == list_id, EligibilityEntry.pupil_id == pupil_id
        )
    )
    if entry is None:
        raise not_found("entry")
    session.delete(entry)
    uow.commit()


def approve(uow: UnitOfWork, principal: Principal, list_id: int, now: datetime) -> EligibilityList:
    session = uow.session
    lst = get_list(session, principal, list_id, lock=True)
    target = advance(ListStatus(lst.status), ListStatus.APPROVED)
    if (
        session.scalar(select(EligibilityEntry.id).where(EligibilityEntry.list_id == list_id).limit(1))
        is None
    ):
        raise DomainError(ListReason.EMPTY_LIST, "an empty list cannot be approved")
    lst.status, lst.approved_by, lst.approved_at = target, principal.id, now
    lst.return_comment = None
    uow.commit()
    return lst


def copy_previous(uow: UnitOfWork, principal: Principal, list_id: int) -> int:
    """Starts a draft from the school's previous month's list: its pupils still at the school, with
    their categories. Returns how many were added (those already on the list are kept as they are)."""
    session = uow.session
    lst = get_list(session, principal, list_id, lock=True)
    require_draft(ListStatus(lst.status))
    previous = session.scalar(
        select(EligibilityList.id)
        .where(EligibilityList.school_id == lst.school_id, EligibilityList.month < lst.month)
        .order_by(EligibilityList.month.desc())
        .limit(1)
    )
    if previous is None:
        return 0
    present = set(
        session.scalars(select(EligibilityEntry.pupil_id).where(EligibilityEntry.list_id == lst.id))
    )
    rows = session.execute(
        select(EligibilityEntry.pupil_id, EligibilityEntry.category, Pupil.grade)
        .join(Pupil, Pupil.id == EligibilityEntry.pupil_id)
        .where(EligibilityEntry.list_id == previous, Pupil.school_id == lst.school_id)
    ).all()
    added = 0
    for pupil_id, category, grade in rows:
        if pupil_id in present:
            continue
        cat = None if unconditional(grade) else category
        if cat is None and not unconditional(grade):
            continue  # moved up into grade 5 without a category: the pedagogue adds them with one
        session.add(EligibilityEntry(list_id=lst.id, pupil_id=pupil_id, category=cat))
        added += 1
    uow.commit()
    return added


def add_class(
    uow: UnitOfWork, principal: Principal, list_id: int, class_name: str, category: str | None
) -> int:
    """Adds every pupil of one class (those not on the list yet); grades 5–11 take `category`."""
    session = uow.session
    lst = get_list(session, principal, list_id, lock=True)
    require_draft(ListStatus(lst.status))
    if category is not None:
        require_category(session, category)
    present = set(
        session.scalars(select(EligibilityEntry.pupil_id).where(EligibilityEntry.list_id == lst.id))
    )
    pupils = session.execute(
        select(Pupil.id, Pupil.grade).where(Pupil.school_id == lst.school_id, Pupil.class_name == class_name)
    ).all()
    added = 0
    for pupil_id, grade in pupils:
        if pupil_id in present:
            continue
        cat = None if unconditional(grade) else category
        check_entry(grade, cat)
        session.add(EligibilityEntry(list_id=lst.id, pupil_id=pupil_id, category=cat))
        added += 1
    uow.commit()
    return added


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """Who the state register confirmed (grades 1–4 without asking), and who it returned."""

    list_id: int
    month: date
    school_id: int
    unconditional: list[int]
    conditional: list[int]  # grades 5–11, confirmed: they go on to SMS consent
    returned: list[int]

    @property
    def listed(self) -> set[int]:
        return {*self.unconditional, *self.conditional, *self.returned}


def cross_check(
    session: Session, principal: Principal, list_id: int, *, registry: StateRegistry, now: datetime
) -> CrossCheck:
    """Cross-check an approved list against the state register, entry by entry."""
    lst = get_list(session, principal, list_id, lock=True)
    lst.status = advance(ListStatus(lst.status), ListStatus.CHECKED)
    lst.checked_at = now
    rows = session.execute(
        select(EligibilityEntry, Pupil.iin, Pupil.grade)
        .join(Pupil, Pupil.id == EligibilityEntry.pupil_id)
        .where(EligibilityEntry.list_id == lst.id)
    ).all()
    on = local_date(now)
    categories = all_categories(session)
    result = CrossCheck(lst.id, lst.month, lst.school_id, [], [], [])
    for entry, iin, grade in rows:
        if unconditional(grade):
            reason = None
        else:
            assert entry.category is not None  # check_entry required it
            info = categories.get(entry.category)
            # a district's own category (not in the state register) is confirmed by the list itself
            reason = registry.check(iin, entry.category, on) if info is None or info.in_register else None
        if reason is None:
            entry.result, entry.reason = EntryResult.CONFIRMED, None
            (result.unconditional if unconditional(grade) else result.conditional).append(entry.pupil_id)
        else:
            entry.result, entry.reason = EntryResult.RETURNED, reason
            result.returned.append(entry.pupil_id)
    return result


def return_list(
    uow: UnitOfWork, principal: Principal, list_id: int, comment: str, now: datetime
) -> EligibilityList:
    """The head sends the list back to the pedagogue with a comment; it becomes a draft again, to be
    approved and checked again in the same month (results of the earlier check stay until then)."""
    session = uow.session
    if not comment.strip():
        raise DomainError(ListReason.COMMENT_REQUIRED, "say what the pedagogue should change")
    lst = get_list(session, principal, list_id, lock=True)
    status = ListStatus(lst.status)
    if status not in RETURNABLE:
        raise DomainError(ListReason.WRONG_STATE, f"a {status} list cannot be returned")
    session.add(
        ListReturnRow(list_id=lst.id, from_status=status, comment=comment.strip(), by=principal.id, at=now)
    )
    lst.status, lst.approved_by, lst.approved_at = ListStatus.DRAFT, None, None
    lst.return_comment = comment.strip()  # shown to the pedagogue until the list is approved again
    uow.commit()
    return lst


def list_returns(session: Session, principal: Principal, list_id: int) -> list[ListReturnRow]:
    get_list(session, principal, list_id)
    stmt = select(ListReturnRow).where(ListReturnRow.list_id == list_id).order_by(ListReturnRow.id)
    return list(session.scalars(stmt))


def school_of_list(session: Session, list_id: int) -> int | None:
    """The school a list belongs to (None: no such list), for features that scope by list."""
    return session.scalar(select(EligibilityList.school_id).where(EligibilityList.id == list_id))


def list_entries(
    session: Session, principal: Principal, list_id: int
) -> tuple[EligibilityList, list[tuple[EligibilityEntry, Pupil]]]:
    lst = get_list(session, principal, list_id)
    rows = session.execute(
        select(EligibilityEntry, Pupil)
        .join(Pupil, Pupil.id == EligibilityEntry.pupil_id)
        .where(EligibilityEntry.list_id == list_id)
        .order_by(Pupil.class_name, Pupil.full_name)
    ).all()
    return lst, [(e, p) for e, p in rows]


def lists_of_school(session: Session, school_id: int) -> list[EligibilityList]:
    stmt = (
        select(EligibilityList).where(EligibilityList.school_id == school_id).order_by(EligibilityList.month)
    )
    return list(session.scalars(stmt))
