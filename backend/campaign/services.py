"""After the cross-check: grades 1–4 straight to vouchers, grades 5–11 to SMS consent (or back to the
voucher they already hold this year), and a returned pupil's live voucher suspended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.adapters.state_registry import StateRegistry
from backend.auth.model import Principal
from backend.clock import local_date
from backend.config import Settings
from backend.consent.services import StartSummary, declined_this_year, record_unlinked, start_consent
from backend.eligibility.model import LAST_UNCONDITIONAL_GRADE
from backend.eligibility.services import cross_check
from backend.unit_of_work import UnitOfWork
from backend.vouchers.model import school_year_of
from backend.vouchers.queries import live_holders_at_school
from backend.vouchers.services import form_vouchers, holders, suspend_for_pupils


@dataclass(frozen=True, slots=True)
class CheckSummary:
    confirmed: int
    returned: int
    vouchers_formed: int
    suspended: int
    consent: StartSummary


def check(
    uow: UnitOfWork,
    principal: Principal,
    list_id: int,
    *,
    registry: StateRegistry,
    settings: Settings,
    now: datetime,
) -> CheckSummary:
    """Cross-check an approved list and start what follows for each confirmed pupil. The checked list is
    authoritative for grades 5–11: a pupil of the school holding a live voucher who is not on it is
    suspended for the month (a later list that has them again restores the voucher)."""
    session = uow.session
    result = cross_check(session, principal, list_id, registry=registry, now=now)
    direct, consent = result.unconditional, result.conditional
    formed = form_vouchers(session, direct, settings=settings, now=now, actor="system", reason="grades 1–4")
    record_unlinked(session, result.list_id, direct, now)
    # Grades 5–11 already holding this year's voucher need no new consent; a suspended one is restored.
    year = school_year_of(local_date(now))
    holding = holders(session, consent, year)
    form_vouchers(
        session, sorted(holding), settings=settings, now=now, actor="system", reason="eligibility confirmed"
    )
    asking = [p for p in consent if p not in holding]
    # A parent who declined earlier this school year is not asked again (a district admin may re-ask).
    declined = declined_this_year(session, asking, year)
    summary = start_consent(
        session,
        result.list_id,
        [p for p in asking if p not in declined],
        settings=settings,
        now=now,
    )
    summary.remembered = len(declined)
    suspended = suspend_for_pupils(
        session,
        result.returned,
        now=now,
        actor="system",
        reason=f"eligibility lost ({result.month:%Y-%m} list)",
    )
    left_off = live_holders_at_school(session, result.school_id, year, above_grade=LAST_UNCONDITIONAL_GRADE)
    suspended += suspend_for_pupils(
        session,
        sorted(left_off - result.listed),
        now=now,
        actor="system",
        reason=f"not on the {result.month:%Y-%m} list",
    )
    uow.commit()
    return CheckSummary(len(direct) + len(consent), len(result.returned), formed, suspended, summary)
