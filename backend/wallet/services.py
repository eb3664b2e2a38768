"""Eligibility use cases: the pedagogue forms the month's list, the head approves it, the cross-check
against the state register confirms or returns each pupil, and confirmed pupils move on — grades 1–4
straight to vouchers, grades 5–11 to SMS consent. A returned pupil's live voucher is suspended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.adapters.wallet_tables import EligibilityEntry, EligibilityList, Pupil, Voucher
from backend.auth.model import Principal
from backend.clock import local_date
from backend.config import Settings
from backend.consent.services import StartSummary, declined_this_year, record_unlinked, start_consent
from backend.errors import DomainError, not_found
from backend.vouchers.model import VoucherStatus, school_year_of
from backend.vouchers.services import form_vouchers, suspend_for_pupils

from .categories import all_categories, require_category
from .model import (
    LAST_UNCONDITIONAL_GRADE,
    RETURNABLE,
    EntryResult,
    ListReason,
    ListStatus,
    advance,
    check_entry,
    require_draft,
    unconditional,
)
from .registry import StateRegistry
from .tables import ListReturnRow


def create_list(session: Session, principal: Principal, school_id: int, month: date) -> EligibilityList:
    if school_id not in principal.school_ids:
        raise not_found("school")
    if session.scalar(
        select(EligibilityList.id).where(
            EligibilityList.school_id == school_id, EligibilityList.month == month
        )
    ):
        raise DomainError(ListReason.DUPLICATE, f"the list for {month:%Y-%m} exists", 409)
    lst = EligibilityList(school_id=school_id, month=month, status=ListStatus.DRAFT, created_by=principal.id)
    session.add(lst)
    session.flush()
    return lst


def get_list(session: Session, principal: Principal, list_id: int, *, lock: bool = False) -> EligibilityList:
    stmt = select(EligibilityList).where(EligibilityList.id == list_id)
    lst = session.scalars(for_update(session, stmt) if lock else stmt).first()
    if lst is None or lst.school_id not in principal.school_ids:
        raise not_found("eligibility list")
    return lst


def add_entry(
    session: Session, principal: Principal, list_id: int, pupil_id: int, category: str | None
) -> EligibilityEntry:
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
        raise DomainError(ListReason.DUPLICATE, "the pupil is on the list already", 409) from None
    return entry


def remove_entry(session: Session, principal: Principal, list_id: int, pupil_id: int) -> None:
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


def approve(session: Session, principal: Principal, list_id: int, now: datetime) -> EligibilityList:
    lst = get_list(session, principal, list_id, lock=True)
    target = advance(ListStatus(lst.status), ListStatus.APPROVED)
    if (
        session.scalar(select(EligibilityEntry.id).where(EligibilityEntry.list_id == list_id).limit(1))
        is None
    ):
        raise DomainError(ListReason.EMPTY_LIST, "an empty list cannot be approved", 409)
    lst.status, lst.approved_by, lst.approved_at = target, principal.id, now
    return lst


@dataclass(frozen=True, slots=True)
class CheckSummary:
    confirmed: int
    returned: int
    vouchers_formed: int
    suspended: int
    consent: StartSummary


def check(
    session: Session,
    principal: Principal,
    list_id: int,
    *,
    registry: StateRegistry,
    settings: Settings,
    now: datetime,
) -> CheckSummary:
    """Cross-check an approved list and start what follows for each confirmed pupil."""
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
    direct: list[int] = []
    consent: list[int] = []
    returned: list[int] = []
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
            (direct if unconditional(grade) else consent).append(entry.pupil_id)
        else:
            entry.result, entry.reason = EntryResult.RETURNED, reason
            returned.append(entry.pupil_id)
    formed = form_vouchers(session, direct, settings=settings, now=now, actor="system", reason="grades 1–4")
    record_unlinked(session, lst.id, direct, now)
    # Grades 5–11 already holding this year's voucher need no new consent; a suspended one is restored.
    year = school_year_of(on)
    holders = _voucher_holders(session, consent, year)
    form_vouchers(
        session, holders, settings=settings, now=now, actor="system", reason="eligibility confirmed"
    )
    asking = [p for p in consent if p not in holders]
    declined = declined_this_year(session, asking, year)
    summary = start_consent(
        session, lst.id, [p for p in asking if p not in declined], settings=settings, now=now
    )
    summary.remembered = len(declined)
    suspended = suspend_for_pupils(
        session, returned, now=now, actor="system", reason=f"eligibility lost ({lst.month:%Y-%m} list)"
    )
    # The month's checked list is authoritative for grades 5–11: a pupil left off it is suspended.
    missing = _left_off(session, lst, year, {e.pupil_id for e, _, _ in rows})
    suspended += suspend_for_pupils(
        session, missing, now=now, actor="system", reason=f"not on the {lst.month:%Y-%m} list"
    )
    return CheckSummary(len(direct) + len(consent), len(returned), formed, suspended, summary)


def _left_off(session: Session, lst: EligibilityList, year: int, listed: set[int]) -> list[int]:
    """Grade 5–11 pupils of the school holding a live voucher of the year who are not on the list."""
    stmt = (
        select(Voucher.pupil_id)
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(
            Voucher.school_id == lst.school_id,
            Voucher.school_year == year,
            Pupil.grade > LAST_UNCONDITIONAL_GRADE,
            Voucher.status.in_([VoucherStatus.ACTIVE, VoucherStatus.AWAITING_ACTIVATION]),
        )
    )
    return sorted(set(session.scalars(stmt)) - listed)


def return_list(
    session: Session, principal: Principal, list_id: int, comment: str, now: datetime
) -> EligibilityList:
    """The head sends the list back to the pedagogue with a comment; it becomes a draft again, to be
    approved and checked again in the same month (results of the earlier check stay until then)."""
    if not comment.strip():
        raise DomainError(ListReason.COMMENT_REQUIRED, "say what the pedagogue should change", 400)
    lst = get_list(session, principal, list_id, lock=True)
    status = ListStatus(lst.status)
    if status not in RETURNABLE:
        raise DomainError(ListReason.WRONG_STATE, f"a {status} list cannot be returned", 409)
    session.add(
        ListReturnRow(list_id=lst.id, from_status=status, comment=comment.strip(), by=principal.id, at=now)
    )
    lst.status, lst.approved_by, lst.approved_at = ListStatus.DRAFT, None, None
    return lst


def list_returns(session: Session, principal: Principal, list_id: int) -> list[ListReturnRow]:
    get_list(session, principal, list_id)
    stmt = select(ListReturnRow).where(ListReturnRow.list_id == list_id).order_by(ListReturnRow.id)
    return list(session.scalars(stmt))


def _voucher_holders(session: Session, pupil_ids: list[int], school_year: int) -> set[int]:
    if not pupil_ids:
        return set()
    stmt = select(Voucher.pupil_id).where(Voucher.school_year == school_year, Voucher.pupil_id.in_(pupil_ids))
    return set(session.scalars(stmt))


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
