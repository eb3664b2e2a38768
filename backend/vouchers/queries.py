"""What other features may read of the vouchers: read models, never the table classes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.bulk import chunks
from backend.clock import local_date
from backend.roster.tables import Pupil

from .model import VoucherStatus
from .tables import Voucher, VoucherEvent


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One entry of a voucher's audit trail, with its pupil (initials and class)."""

    event_id: int
    new_status: str  # VoucherStatus
    at: datetime
    pupil_id: int
    display: str


def status_changes_after(session: Session, position: int, *, limit: int) -> list[StatusChange]:
    """The audit trail's entries after `position` (an entry id), oldest first."""
    rows = session.execute(
        select(VoucherEvent.id, VoucherEvent.new_status, VoucherEvent.at, Voucher.pupil_id, Pupil.display)
        .join(Voucher, Voucher.id == VoucherEvent.voucher_id)
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(VoucherEvent.id > position)
        .order_by(VoucherEvent.id)
        .limit(limit)
    ).all()
    return [StatusChange(*r) for r in rows]


def live_holders_at_school(
    session: Session, school_id: int, school_year: int, *, above_grade: int
) -> set[int]:
    """Pupils of a school above `above_grade` whose voucher of that year is active or awaiting activation."""
    stmt = (
        select(Voucher.pupil_id)
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(
            Voucher.school_id == school_id,
            Voucher.school_year == school_year,
            Pupil.grade > above_grade,
            Voucher.status.in_([VoucherStatus.ACTIVE, VoucherStatus.AWAITING_ACTIVATION]),
        )
    )
    return set(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class VoucherAsOf:
    """A voucher's state at a moment, rebuilt from its audit trail (what a report of that day says)."""

    voucher_id: int
    pupil_id: int
    plan: int
    status: str
    activated_on: date | None


def school_vouchers_as_of(session: Session, school_id: int, end: datetime) -> list[VoucherAsOf]:
    """The school's vouchers formed before `end`, each with its status then and its first activation."""
    vouchers = session.execute(
        select(Voucher.id, Voucher.pupil_id, Voucher.plan).where(Voucher.school_id == school_id)
    ).all()
    status: dict[int, str] = {}
    activated: dict[int, date] = {}
    for chunk in chunks([v.id for v in vouchers]):
        for vid, at, new in session.execute(
            select(VoucherEvent.voucher_id, VoucherEvent.at, VoucherEvent.new_status)
            .where(VoucherEvent.voucher_id.in_(chunk), VoucherEvent.at < end)
            .order_by(VoucherEvent.at, VoucherEvent.id)
        ):
            status[vid] = new
            if new == VoucherStatus.ACTIVE and vid not in activated:
                activated[vid] = local_date(at)
    return [
        VoucherAsOf(v.id, v.pupil_id, v.plan, status[v.id], activated.get(v.id))
        for v in vouchers
        if v.id in status
    ]
