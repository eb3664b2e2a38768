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
from backend.consent.services import StartSummary, start_consent
from backend.errors import DomainError, not_found
from backend.vouchers.model import school_year_of
from backend.vouchers.services import form_vouchers, suspend_for_pupils

from .model import (
    Category,
    EntryResult,
    ListReason,
    ListStatus,
    advance,
    check_entry,
    require_draft,
    unconditional,
)
from .registry import StateRegistry


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
    session: Session, principal: Principal, list_id: int, pupil_id: int, category: Category | None
) -> EligibilityEntry:
    lst = get_list(session, principal, list_id, lock=True)
    require_draft(ListStatus(lst.status))
    pupil = session.get(Pupil, pupil_id)
    if pupil is None or pupil.school_id != lst.school_id:
        raise not_found("pupil")
    check_entry(pupil.grade, category)
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
    direct: list[int] = []
    consent: list[int] = []
    returned: list[int] = []
    for entry, iin, grade in rows:
        if unconditional(grade):
            reason = None
        else:
            assert entry.category is not None  # check_entry required it
            reason = registry.check(iin, Category(entry.category), on)
        if reason is None:
            entry.result, entry.reason = EntryResult.CONFIRMED, None
            (direct if unconditional(grade) else consent).append(entry.pupil_id)
        else:
            entry.result, entry.reason = EntryResult.RETURNED, reason
            returned.append(entry.pupil_id)
    formed = form_vouchers(session, direct, settings=settings, now=now, actor="system", reason="grades 1–4")
    # Grades 5–11 already holding this year's voucher need no new consent; a suspended one is restored.
    holders = _voucher_holders(session, consent, school_year_of(on))
    form_vouchers(
        session, holders, settings=settings, now=now, actor="system", reason="eligibility confirmed"
    )
    summary = start_consent(
        session, lst.id, [p for p in consent if p not in holders], settings=settings, now=now
    )
    suspended = suspend_for_pupils(
        session, returned, now=now, actor="system", reason=f"eligibility lost ({lst.month:%Y-%m} list)"
    )
    return CheckSummary(len(direct) + len(consent), len(returned), formed, suspended, summary)


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
