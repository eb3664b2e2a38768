"""What other features may read of the vouchers: read models, never the table classes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from backend.adapters.bulk import chunks
from backend.adapters.dialect import among
from backend.clock import local_date
from backend.roster.tables import Pupil

from .model import VoucherStatus
from .tables import RevokedToken, Voucher, VoucherEvent, VoucherTransferRow

# Coming back from a suspension is not a new activation.
NOT_ACTIVATIONS = (VoucherStatus.ACTIVE, VoucherStatus.SUSPENDED)


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


def activations_between(
    session: Session, school_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, int]:
    """Activations per school from `start` to `end`; coming back from a suspension is not one."""
    stmt = (
        select(Voucher.school_id, func.count())
        .join(VoucherEvent, VoucherEvent.voucher_id == Voucher.id)
        .where(
            Voucher.school_id.in_(school_ids),
            VoucherEvent.new_status == VoucherStatus.ACTIVE,
            or_(VoucherEvent.old_status.is_(None), VoucherEvent.old_status.not_in(NOT_ACTIVATIONS)),
            VoucherEvent.at >= start,
            VoucherEvent.at < end,
        )
        .group_by(Voucher.school_id)
    )
    return {school_id: n for school_id, n in session.execute(stmt)}


def active_at(session: Session, school_ids: Collection[int], end: datetime) -> dict[int, int]:
    """Vouchers whose last status change before `end` made them active."""
    later = aliased(VoucherEvent)
    newer_exists = (
        select(later.id)
        .where(
            later.voucher_id == VoucherEvent.voucher_id,
            later.at < end,
            or_(later.at > VoucherEvent.at, and_(later.at == VoucherEvent.at, later.id > VoucherEvent.id)),
        )
        .exists()
    )
    stmt = (
        select(Voucher.school_id, func.count())
        .join(VoucherEvent, VoucherEvent.voucher_id == Voucher.id)
        .where(
            Voucher.school_id.in_(school_ids),
            VoucherEvent.at < end,
            VoucherEvent.new_status == VoucherStatus.ACTIVE,
            not_(newer_exists),
        )
        .group_by(Voucher.school_id)
    )
    return {school_id: n for school_id, n in session.execute(stmt)}


@dataclass(frozen=True, slots=True)
class Holder:
    """A voucher a school's terminals serve on, with its pupil's pseudonym and display."""

    voucher_id: int
    pupil_id: int
    plan: int
    status: str  # VoucherStatus
    min_serial: int
    pseudonym: bytes
    display: str


def school_holders(
    session: Session, school_id: int, statuses: Collection[str], valid_on: date
) -> list[Holder]:
    """The school's vouchers in one of `statuses` and still valid on `valid_on`, by voucher id."""
    rows = session.execute(
        select(
            Voucher.id,
            Voucher.pupil_id,
            Voucher.plan,
            Voucher.status,
            Voucher.min_serial,
            Pupil.pseudonym,
            Pupil.display,
        )
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(
            Voucher.school_id == school_id,
            Voucher.status.in_(list(statuses)),
            Voucher.valid_until >= valid_on,
        )
        .order_by(Voucher.id)
    ).all()
    return [Holder(*r) for r in rows]


def pupils_with_voucher_at(school_id: int) -> Select[int]:
    """The pupils holding a voucher of this school, as a sub-select (a join, not hundreds of bound ids)."""
    return select(Voucher.pupil_id).where(Voucher.school_id == school_id)


def revoked_serials(
    session: Session, school_id: int, valid_on: date, max_serial: int
) -> list[tuple[int, int]]:
    """(voucher id, serial) of the single token serials revoked on the school's still-valid vouchers."""
    rows = session.execute(
        select(RevokedToken.voucher_id, RevokedToken.serial)
        .join(Voucher, Voucher.id == RevokedToken.voucher_id)
        .where(
            Voucher.school_id == school_id, Voucher.valid_until >= valid_on, RevokedToken.serial <= max_serial
        )
    ).all()
    return [(v, s) for v, s in rows]


@dataclass(frozen=True, slots=True)
class VoucherState:
    """A voucher as ingestion checks a meal against it: its facts and its audit trail, oldest first."""

    voucher_id: int
    school_id: int
    pupil_id: int
    plan: int
    status: str  # VoucherStatus
    valid_until: date | None
    trail: tuple[tuple[datetime, str | None, str], ...]  # (at, old status, new status)


def voucher_states(session: Session, voucher_ids: Sequence[int]) -> dict[int, VoucherState]:
    """These vouchers (an unknown id is left out) with their audit trails, in two queries."""
    if not voucher_ids:
        return {}
    trails: dict[int, list[tuple[datetime, str | None, str]]] = defaultdict(list)
    for vid, at, old, new in session.execute(
        select(VoucherEvent.voucher_id, VoucherEvent.at, VoucherEvent.old_status, VoucherEvent.new_status)
        .where(among(session, VoucherEvent.voucher_id, voucher_ids))
        .order_by(VoucherEvent.at, VoucherEvent.id)
    ):
        trails[vid].append((at, old, new))
    return {
        v.id: VoucherState(
            v.id, v.school_id, v.pupil_id, v.plan, v.status, v.valid_until, tuple(trails.get(v.id, ()))
        )
        for v in session.execute(
            select(
                Voucher.id,
                Voucher.school_id,
                Voucher.pupil_id,
                Voucher.plan,
                Voucher.status,
                Voucher.valid_until,
            ).where(among(session, Voucher.id, voucher_ids))
        )
    }


def ids_at_school(session: Session, school_id: int) -> list[int]:
    """The ids of the vouchers a school holds now, in any status."""
    return list(
        session.scalars(select(Voucher.id).where(Voucher.school_id == school_id).order_by(Voucher.id))
    )


def active_count(session: Session, school_id: int) -> int:
    """How many of the school's vouchers are active now."""
    stmt = (
        select(func.count())
        .select_from(Voucher)
        .where(Voucher.school_id == school_id, Voucher.status == VoucherStatus.ACTIVE)
    )
    return int(session.scalar(stmt) or 0)


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


def school_moves(
    session: Session, voucher_ids: Sequence[int]
) -> dict[int, tuple[tuple[date, int, int], ...]]:
    """(effective_on, from, to) of each voucher's moves, in order: the school a voucher had on a date."""
    out: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    if voucher_ids:
        stmt = (
            select(VoucherTransferRow)
            .where(among(session, VoucherTransferRow.voucher_id, list(voucher_ids)))
            .order_by(VoucherTransferRow.effective_on, VoucherTransferRow.id)
        )
        for t in session.scalars(stmt):
            out[t.voucher_id].append((t.effective_on, t.from_school_id, t.to_school_id))
    return {vid: tuple(m) for vid, m in out.items()}
