"""What other features may read of the vouchers: read models, never the table classes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.roster.tables import Pupil

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
