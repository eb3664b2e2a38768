"""A pupil moves to another school mid-year: the one voucher of the school year follows them.

From the move date the voucher belongs to the new school: the new school's allowlist carries it and
the old one's drops it at the next sync, tokens signed for the old school are superseded (and any
terminal refuses a token naming another school as WRONG_SCHOOL), new QR passes name the new school,
and meals are billed to the school that served them on that date (ingestion judges a meal by the
school the voucher belonged to on its local date)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.auth.model import Principal
from backend.clock import local_date
from backend.errors import DomainError, not_found
from backend.roster.tables import Pupil, School
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher, VoucherEvent

from .model import VoucherStatus, school_year_of
from .tables import VoucherTransferRow


class TransferReason(enum.StrEnum):
    SAME_SCHOOL = "SAME_SCHOOL"
    MOVE_IN_FUTURE = "MOVE_IN_FUTURE"
    MOVE_BEFORE_YEAR = "MOVE_BEFORE_YEAR"


def move_vouchers(
    session: Session, moves: Sequence[tuple[int, int, int]], *, effective_on: date, actor: str, now: datetime
) -> int:
    """(pupil, from school, to school) already recorded on the pupil: their vouchers of the school year
    of `effective_on` follow. Returns how many vouchers moved."""
    year = school_year_of(effective_on)
    moved = 0
    for pupil_id, from_school, to_school in moves:
        stmt = select(Voucher).where(Voucher.pupil_id == pupil_id, Voucher.school_year == year)
        voucher = session.scalars(for_update(session, stmt)).first()
        if voucher is None or voucher.status in (VoucherStatus.EXPIRED, VoucherStatus.REVOKED):
            continue
        from_school = voucher.school_id
        session.add(
            VoucherTransferRow(
                voucher_id=voucher.id,
                pupil_id=pupil_id,
                from_school_id=from_school,
                to_school_id=to_school,
                effective_on=effective_on,
                at=now,
                actor=actor,
            )
        )
        voucher.school_id = to_school
        # Tokens signed for the old school stop at once; the parent's next QR names the new school.
        voucher.min_serial = voucher.next_serial
        voucher.updated_at = now
        session.add(
            VoucherEvent(
                voucher_id=voucher.id,
                at=now,
                actor=actor,
                old_status=voucher.status,
                new_status=voucher.status,
                reason=f"moved from school {from_school} to school {to_school} on {effective_on}",
            )
        )
        moved += 1
    return moved


def transfer_pupil(
    uow: UnitOfWork,
    principal: Principal,
    pupil_id: int,
    to_school_id: int,
    *,
    effective_on: date,
    now: datetime,
) -> int:
    """A district admin records a move (both schools in the district). Returns vouchers moved (0 or 1)."""
    session = uow.session
    pupil = session.scalars(for_update(session, select(Pupil).where(Pupil.id == pupil_id))).first()
    if pupil is None or pupil.school_id not in principal.school_ids:
        raise not_found("pupil")
    if to_school_id not in principal.school_ids or session.get(School, to_school_id) is None:
        raise not_found("school")
    if pupil.school_id == to_school_id:
        raise DomainError(TransferReason.SAME_SCHOOL, "the pupil is at that school already")
    today = local_date(now)
    if effective_on > today:
        raise DomainError(TransferReason.MOVE_IN_FUTURE, "record a move on or after its date")
    if school_year_of(effective_on) != school_year_of(today):
        raise DomainError(TransferReason.MOVE_BEFORE_YEAR, "the move date is in another school year")
    from_school = pupil.school_id
    pupil.school_id = to_school_id
    moved = move_vouchers(
        session,
        [(pupil.id, from_school, to_school_id)],
        effective_on=effective_on,
        actor=f"admin:{principal.id}",
        now=now,
    )
    uow.commit()
    return moved
