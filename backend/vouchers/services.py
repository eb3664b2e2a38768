"""Voucher use cases: forming, state changes with audit, QR issuance and re-issue, expiry, history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Row, Table, Update, bindparam, func, select, update
from sqlalchemy.orm import Session

from backend.adapters.bulk import bulk_insert, chunks
from backend.adapters.locking import for_update
from backend.auth.model import Principal, token_hash
from backend.auth.services import live_parent_pupils
from backend.auth.visibility import mask_iin
from backend.clock import KZ_TZ, local_date
from backend.config import Settings
from backend.db import Standalone
from backend.errors import DomainError, not_found
from backend.keys import KeyStore
from backend.roster.grades import LAST_UNCONDITIONAL_GRADE
from backend.roster.tables import DistrictSettingsRow, Guardianship, Pupil, School
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher, VoucherEvent
from shared_crypto import KeyRole, SigningKey, issue_tokens, to_qr_text

from .model import (
    MAX_SERIAL,
    Plan,
    VoucherReason,
    VoucherStatus,
    check_transition,
    school_year_of,
    year_end,
)

SYSTEM = "system"


def change_status(
    session: Session, voucher: Voucher, new: VoucherStatus, *, actor: str, reason: str | None, now: datetime
) -> None:
    """The one way a voucher's status changes: checked against the rules and written to the audit trail."""
    old = VoucherStatus(voucher.status)
    check_transition(old, new)
    voucher.status = new
    voucher.updated_at = now
    session.add(
        VoucherEvent(
            voucher_id=voucher.id, at=now, actor=actor, old_status=old, new_status=new, reason=reason
        )
    )


def _year_ends(session: Session, school_ids: set[int], year: int, settings: Settings) -> dict[int, date]:
    """Each school's last valid day of the year: its district's setting, else the configured date."""
    default = year_end(year, settings.school_year_end_month, settings.school_year_end_day)
    out = dict.fromkeys(school_ids, default)
    rows = session.execute(
        select(School.id, DistrictSettingsRow.year_end_month, DistrictSettingsRow.year_end_day)
        .join(DistrictSettingsRow, DistrictSettingsRow.district == School.district)
        .where(School.id.in_(sorted(school_ids)), DistrictSettingsRow.year_end_month.is_not(None))
    )
    for school_id, month, day in rows:
        if month is not None and day is not None:
            out[school_id] = date(year + 1, month, day)
    return out


def form_vouchers(
    session: Session,
    pupil_ids: Iterable[int],
    *,
    settings: Settings,
    now: datetime,
    actor: str,
    reason: str,
    plans: Mapping[int, int] | None = None,
) -> int:
    """Creates awaiting-activation vouchers for the school year of `now` (bulk); pupils that already hold
    one are skipped, and a suspended one is restored. `plans` gives a pupil's plan (their category's);
    FREE otherwise. Returns how many were created."""
    year = school_year_of(local_date(now))
    ids = sorted(set(pupil_ids))
    if not ids:
        return 0
    existing = holders(session, ids, year)
    restore_eligibility(session, sorted(existing), now=now, actor=actor)
    new_ids = [i for i in ids if i not in existing]
    if not new_ids:
        return 0
    schools: dict[int, int] = {}
    for chunk in chunks(new_ids):
        schools.update(session.execute(select(Pupil.id, Pupil.school_id).where(Pupil.id.in_(chunk))).all())
    ends = _year_ends(session, set(schools.values()), year, settings)
    rows = [
        {
            "pupil_id": pid,
            "school_id": schools[pid],
            "school_year": year,
            # the category's plan; the district may still move a voucher by decision (set_plan)
            "plan": (plans or {}).get(pid, Plan.FREE),
            "status": VoucherStatus.AWAITING_ACTIVATION.value,
            "valid_until": ends[schools[pid]],
            "min_serial": 0,
            "next_serial": 1,
            "updated_at": now,
        }
        for pid in new_ids
        if pid in schools
    ]
    # Plain executemany, then ids by the natural key: bulk INSERT ... RETURNING through the ORM splices
    # result batches in quadratic time (measured: minutes for 100k rows).
    bulk_insert(session, Voucher, rows)
    voucher_ids: list[int] = []
    for chunk in chunks([pid for pid in new_ids if pid in schools]):
        voucher_ids.extend(
            session.scalars(
                select(Voucher.id).where(Voucher.school_year == year, Voucher.pupil_id.in_(chunk))
            )
        )
    bulk_insert(
        session,
        VoucherEvent,
        [
            {
                "voucher_id": vid,
                "at": now,
                "actor": actor,
                "old_status": None,
                "new_status": VoucherStatus.AWAITING_ACTIVATION.value,
                "reason": reason,
            }
            for vid in voucher_ids
        ],
    )
    return len(voucher_ids)


def restore_eligibility(session: Session, pupil_ids: Sequence[int], *, now: datetime, actor: str) -> int:
    """Suspended vouchers of these pupils go back to the state they held before the suspension."""
    restored = 0
    for chunk in chunks(list(pupil_ids)):
        vouchers = session.scalars(
            select(Voucher).where(Voucher.pupil_id.in_(chunk), Voucher.status == VoucherStatus.SUSPENDED)
        ).all()
        for v in vouchers:
            before = session.scalar(
                select(VoucherEvent.old_status)
                .where(VoucherEvent.voucher_id == v.id, VoucherEvent.new_status == VoucherStatus.SUSPENDED)
                .order_by(VoucherEvent.id.desc())
                .limit(1)
            )
            target = VoucherStatus(before) if before else VoucherStatus.AWAITING_ACTIVATION
            if target not in (VoucherStatus.ACTIVE, VoucherStatus.AWAITING_ACTIVATION):
                target = VoucherStatus.AWAITING_ACTIVATION
            change_status(session, v, target, actor=actor, reason="eligibility confirmed again", now=now)
            restored += 1
    return restored


def suspend_for_pupils(
    session: Session, pupil_ids: Sequence[int], *, now: datetime, actor: str, reason: str
) -> int:
    """Eligibility lost: the pupils' live vouchers of the current year are suspended."""
    year = school_year_of(local_date(now))
    count = 0
    for chunk in chunks(list(pupil_ids)):
        vouchers = session.scalars(
            select(Voucher).where(
                Voucher.pupil_id.in_(chunk),
                Voucher.school_year == year,
                Voucher.status.in_([VoucherStatus.ACTIVE, VoucherStatus.AWAITING_ACTIVATION]),
            )
        ).all()
        for v in vouchers:
            change_status(session, v, VoucherStatus.SUSPENDED, actor=actor, reason=reason, now=now)
            count += 1
    return count


def voucher_for_parent(
    session: Session, principal: Principal, voucher_id: int, *, lock: bool = False
) -> Voucher:
    """The voucher if it belongs to one of the caller's children; 404 otherwise (no probing)."""
    stmt = select(Voucher).where(Voucher.id == voucher_id)
    voucher = session.scalars(for_update(session, stmt) if lock else stmt).first()
    if voucher is None or voucher.pupil_id not in principal.pupil_ids:
        raise not_found("voucher")
    return voucher


def activate(uow: UnitOfWork, principal: Principal, voucher_id: int, now: datetime) -> Voucher:
    session = uow.session
    v = voucher_for_parent(session, principal, voucher_id, lock=True)
    if v.status == VoucherStatus.ACTIVE:
        return v
    change_status(
        session, v, VoucherStatus.ACTIVE, actor=f"parent:{principal.id}", reason="activated", now=now
    )
    uow.commit()
    return v


def refuse(uow: UnitOfWork, principal: Principal, voucher_id: int, reason: str, now: datetime) -> Voucher:
    if not reason.strip():
        raise DomainError(VoucherReason.REASON_REQUIRED, "say why the voucher is refused")
    session = uow.session
    v = voucher_for_parent(session, principal, voucher_id, lock=True)
    change_status(
        session, v, VoucherStatus.REFUSED, actor=f"parent:{principal.id}", reason=reason.strip(), now=now
    )
    uow.commit()
    return v


def _voucher_in_scope(session: Session, voucher_id: int, school_ids: frozenset[int]) -> Voucher:
    """The voucher, row-locked, if it is in one of the caller's schools; 404 otherwise (no probing)."""
    v = session.scalars(for_update(session, select(Voucher).where(Voucher.id == voucher_id))).first()
    if v is None or v.school_id not in school_ids:
        raise not_found("voucher")
    return v


def revoke(
    uow: UnitOfWork, voucher_id: int, *, school_ids: frozenset[int], actor: str, reason: str, now: datetime
) -> Voucher:
    """The district's revocation, with its reason in the audit trail; the parent hears of it through the
    notification channels (the notice worker reads the trail), terminals with the next allowlist."""
    if not reason.strip():
        raise DomainError(VoucherReason.REASON_REQUIRED, "say why the voucher is revoked")
    v = _voucher_in_scope(uow.session, voucher_id, school_ids)
    change_status(uow.session, v, VoucherStatus.REVOKED, actor=actor, reason=reason.strip()[:300], now=now)
    uow.commit()
    return v


IIN_TAIL = 4


@dataclass(frozen=True, slots=True)
class HolderRow:
    """A voucher as the district admin's search shows it: the IIN masked (docs/security.md)."""

    voucher_id: int
    full_name: str
    iin_masked: str
    class_name: str
    status: str
    plan: int


def search_holders(
    session: Session,
    school_ids: frozenset[int],
    school_id: int,
    school_year: int,
    *,
    query: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[HolderRow], int]:
    """One page of the school year's vouchers of a school in the caller's scope, by pupil name (part of
    it) or the IIN's last four digits (what the page shows: a whole IIN would travel in the search's
    address and the server's logs), and how many match; 404 for a school outside the scope."""
    if school_id not in school_ids:
        raise not_found("school")
    conds = [Voucher.school_id == school_id, Voucher.school_year == school_year]
    q = query.strip()
    if q.isdigit() and len(q) == IIN_TAIL:
        conds.append(Pupil.iin.endswith(q))
    elif q:
        conds.append(Pupil.full_name.ilike(f"%{q}%"))
    base = select(Voucher, Pupil).join(Pupil, Pupil.id == Voucher.pupil_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(Pupil.class_name, Pupil.full_name).offset(offset).limit(limit))
    return [
        HolderRow(v.id, p.full_name, mask_iin(p.iin), p.class_name, v.status, v.plan) for v, p in rows
    ], total


def set_plan(
    uow: UnitOfWork,
    voucher_id: int,
    plan: Plan,
    *,
    school_ids: frozenset[int],
    actor: str,
    reason: str,
    now: datetime,
) -> Voucher:
    """The district's decision on what the state pays; audited like a status change. Terminals get it
    with the next allowlist, billing prices meals from then on by the voucher's plan on the meal."""
    session = uow.session
    v = _voucher_in_scope(session, voucher_id, school_ids)
    if v.plan == plan:
        raise DomainError(VoucherReason.PLAN_UNCHANGED, f"the voucher is already on plan {plan.name}")
    session.add(
        VoucherEvent(
            voucher_id=v.id,
            at=now,
            actor=actor,
            old_status=v.status,
            new_status=v.status,
            reason=f"plan {Plan(v.plan).name} -> {plan.name}: {reason}"[:300],
        )
    )
    v.plan = plan
    v.updated_at = now
    uow.commit()
    return v


@dataclass(frozen=True, slots=True)
class IssuedQr:
    text: str
    serial: int
    not_before: datetime
    expires_at: datetime


def _end_of(valid_until: date) -> int:
    """The first instant (unix seconds) after a voucher's last valid school-local day."""
    return int(datetime.combine(valid_until + timedelta(days=1), time(), KZ_TZ).timestamp())


def _issuable(v: Voucher, now: datetime) -> int:
    """The one check before any token is signed; returns the voucher's end of validity."""
    if v.status != VoucherStatus.ACTIVE:
        raise DomainError(VoucherReason.NOT_ACTIVE, f"the voucher is {v.status}; activate it first")
    end = _end_of(v.valid_until)
    if int(now.timestamp()) >= end:
        raise DomainError(VoucherReason.NOT_ACTIVE, "the voucher's school year is over")
    return end


def _next_serial(v: Voucher, now: datetime) -> int:
    serial = v.next_serial
    if serial > MAX_SERIAL:
        raise DomainError(VoucherReason.SERIAL_EXHAUSTED, "no token serials left this year")
    v.next_serial, v.updated_at = serial + 1, now
    return serial


def _sign(
    key: SigningKey, v: _Signed, serial: int, windows: Iterable[tuple[int, int]], end: int
) -> tuple[tuple[int, int, str], ...]:
    """The voucher token path: one signed QR text per (nbf, exp) window, each cut at the end of
    validity; a window starting after it is left out. The API's QR and the pupil's pass both sign here."""
    cut = [(nbf, min(exp, end)) for nbf, exp in windows if nbf < end]
    signed = issue_tokens(key, v.id, v.school_id, serial, v.plan, cut)
    return tuple((nbf, exp, to_qr_text(data)) for (nbf, exp), data in zip(cut, signed, strict=True))


class _Signed(Protocol):
    """What a token names of its voucher: an ORM row or the row an UPDATE returned."""

    @property
    def id(self) -> int: ...
    @property
    def school_id(self) -> int: ...
    @property
    def plan(self) -> int: ...


# Built once: a Core statement on the table skips the ORM's bulk-update machinery (it would look for
# loaded rows to synchronise) and the statement's construction and cache key, about half the request.
_VOUCHERS = cast(Table, Voucher.__table__)


def _next_serial_update(*conditions: ColumnElement[bool]) -> Update:
    """The next serial of one active voucher with serials left, taken under the row's lock by the UPDATE
    itself; `conditions` say whose voucher it may be."""
    return (
        update(_VOUCHERS)
        .where(
            _VOUCHERS.c.id == bindparam("voucher_id"),
            *conditions,
            _VOUCHERS.c.status == VoucherStatus.ACTIVE.value,
            _VOUCHERS.c.next_serial <= MAX_SERIAL,
        )
        .values(
            next_serial=_VOUCHERS.c.next_serial + 1,
            updated_at=bindparam("now", type_=_VOUCHERS.c.updated_at.type),
        )
        .returning(
            _VOUCHERS.c.id,
            _VOUCHERS.c.school_id,
            _VOUCHERS.c.plan,
            _VOUCHERS.c.valid_until,
            _VOUCHERS.c.next_serial,
        )
    )


_TAKE_SERIAL = _next_serial_update(_VOUCHERS.c.pupil_id.in_(bindparam("pupil_ids", expanding=True)))


def _take_serial(session: Session, principal: Principal, voucher_id: int, now: datetime) -> Row[Any] | None:
    """The common case of `issue_qr` in one statement: the next serial of an active voucher of the
    caller's child, taken under the row's lock by the UPDATE itself (no SELECT … FOR UPDATE, no ORM
    flush). None when any condition fails: the caller then takes the checking path, which says why."""
    params = {"voucher_id": voucher_id, "pupil_ids": sorted(principal.pupil_ids), "now": now}
    return session.execute(_TAKE_SERIAL, params).first()


# `issue_qr`'s common case for a parent's Bearer token as one statement: the session, its scope (the
# voucher is one of the parent's children's), the voucher's state and year and the next serial, checked
# and taken by the UPDATE itself. On an autocommit connection that is the whole transaction.
_TAKE_SERIAL_FOR_SESSION = _next_serial_update(
    _VOUCHERS.c.pupil_id.in_(live_parent_pupils()),
    _VOUCHERS.c.valid_until >= bindparam("today"),  # i.e. now is before _end_of(valid_until)
)


def issue_qr_for_session(
    standalone: Standalone, keys: KeyStore, token: str, voucher_id: int, *, now: datetime, validity: timedelta
) -> IssuedQr | None:
    """What `issue_qr` answers for the parent of session `token` when every check passes, from one
    autocommit statement; None when any fails, and then nothing was written: the caller asks the checking
    path (`parent_of` and `issue_qr`), which says why."""
    key = keys.signing_key(KeyRole.VOUCHER_ISSUER)  # before the serial is taken: nothing left to fail
    params = {"voucher_id": voucher_id, "token_hash": token_hash(token), "now": now, "today": local_date(now)}
    row = standalone.first(_TAKE_SERIAL_FOR_SESSION, params)
    if row is None:
        return None
    nbf, serial = int(now.timestamp()), row.next_serial - 1
    ((_nbf, exp, text),) = _sign(
        key, row, serial, [(nbf, nbf + int(validity.total_seconds()))], _end_of(row.valid_until)
    )
    return IssuedQr(text=text, serial=serial, not_before=now, expires_at=datetime.fromtimestamp(exp, UTC))


def issue_qr(
    uow: UnitOfWork,
    keys: KeyStore,
    principal: Principal,
    voucher_id: int,
    *,
    now: datetime,
    validity: timedelta,
    supersede: bool = False,
) -> IssuedQr:
    """Signs a dynamic QR token with the next serial. `supersede` (re-issue after a leak) also raises
    min_serial to it, so terminals refuse every older token as SUPERSEDED."""
    session = uow.session
    nbf = int(now.timestamp())
    if not supersede and (row := _take_serial(session, principal, voucher_id, now)) is not None:
        end = _end_of(row.valid_until)
        if nbf >= end:  # the serial taken is rolled back with the unit of work
            raise DomainError(VoucherReason.NOT_ACTIVE, "the voucher's school year is over")
        serial = row.next_serial - 1
        ((_nbf, exp, text),) = _sign(
            keys.signing_key(KeyRole.VOUCHER_ISSUER),
            row,
            serial,
            [(nbf, nbf + int(validity.total_seconds()))],
            end,
        )
        uow.commit()
        return IssuedQr(text=text, serial=serial, not_before=now, expires_at=datetime.fromtimestamp(exp, UTC))
    v = voucher_for_parent(session, principal, voucher_id, lock=True)
    end = _issuable(v, now)
    serial = _next_serial(v, now)
    if supersede:
        v.min_serial = serial
        session.add(
            VoucherEvent(
                voucher_id=v.id,
                at=now,
                actor=f"parent:{principal.id}",
                old_status=v.status,
                new_status=v.status,
                reason=f"QR re-issued: tokens before serial {serial} superseded",
            )
        )
    ((_nbf, exp, text),) = _sign(
        keys.signing_key(KeyRole.VOUCHER_ISSUER), v, serial, [(nbf, nbf + int(validity.total_seconds()))], end
    )
    uow.commit()
    return IssuedQr(text=text, serial=serial, not_before=now, expires_at=datetime.fromtimestamp(exp, UTC))


def expire_vouchers(uow: UnitOfWork, *, now: datetime) -> int:
    """Vouchers whose last valid day has passed (school-local date) become expired."""
    session = uow.session
    today = local_date(now)
    vouchers = session.scalars(
        select(Voucher).where(
            Voucher.valid_until < today,
            Voucher.status.notin_([VoucherStatus.EXPIRED, VoucherStatus.REVOKED]),
        )
    ).all()
    for v in vouchers:
        change_status(session, v, VoucherStatus.EXPIRED, actor=SYSTEM, reason="end of school year", now=now)
    uow.commit()
    return len(vouchers)


@dataclass(frozen=True, slots=True)
class ChildVoucher:
    voucher_id: int
    pupil_id: int
    display: str
    school_id: int
    school_year: int
    status: str
    valid_until: date


def list_for_parent(session: Session, principal: Principal) -> list[ChildVoucher]:
    if not principal.pupil_ids:
        return []
    rows = session.execute(
        select(Voucher, Pupil.display)
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(Voucher.pupil_id.in_(sorted(principal.pupil_ids)))
        .order_by(Voucher.pupil_id, Voucher.school_year)
    ).all()
    return [
        ChildVoucher(v.id, v.pupil_id, display, v.school_id, v.school_year, v.status, v.valid_until)
        for v, display in rows
    ]


def voucher_events(session: Session, principal: Principal, voucher_id: int) -> list[VoucherEvent]:
    voucher_for_parent(session, principal, voucher_id)
    return _events(session, voucher_id)


def admin_voucher_events(session: Session, school_ids: frozenset[int], voucher_id: int) -> list[VoucherEvent]:
    """A voucher's audit trail for an admin of its school; 404 for any other voucher."""
    v = session.get(Voucher, voucher_id)
    if v is None or v.school_id not in school_ids:
        raise not_found("voucher")
    return _events(session, voucher_id)


def _events(session: Session, voucher_id: int) -> list[VoucherEvent]:
    return list(
        session.scalars(
            select(VoucherEvent).where(VoucherEvent.voucher_id == voucher_id).order_by(VoucherEvent.id)
        )
    )


def holders(session: Session, pupil_ids: Sequence[int], school_year: int) -> set[int]:
    """Which of these pupils hold a voucher of that school year, whatever its state."""
    found: set[int] = set()
    for chunk in chunks(sorted(pupil_ids)):
        stmt = select(Voucher.pupil_id).where(Voucher.school_year == school_year, Voucher.pupil_id.in_(chunk))
        found.update(session.scalars(stmt))
    return found


@dataclass(frozen=True, slots=True)
class ChildOverview:
    """A parent's child as the parent's pages show it: initials and class, never the IIN."""

    pupil_id: int
    display: str
    class_name: str
    school_id: int
    school_name: str
    voucher_id: int | None
    status: str | None
    valid_until: date | None
    reason: str | None  # why the voucher is in its state (the refusal's words, the suspension's cause)


def children_of(session: Session, principal: Principal) -> list[ChildOverview]:
    """Each of the caller's children with this school year's voucher, if any, and its last reason."""
    if not principal.pupil_ids:
        return []
    ids = sorted(principal.pupil_ids)
    pupils = session.execute(
        select(Pupil.id, Pupil.display, Pupil.class_name, Pupil.school_id, School.name)
        .join(School, School.id == Pupil.school_id)
        .where(Pupil.id.in_(ids))
        .order_by(Pupil.class_name, Pupil.id)
    ).all()
    vouchers = {
        v.pupil_id: v
        for v in session.scalars(
            select(Voucher).where(Voucher.pupil_id.in_(ids)).order_by(Voucher.school_year)
        )
    }
    reasons = dict(
        session.execute(
            select(VoucherEvent.voucher_id, VoucherEvent.reason)
            .where(VoucherEvent.voucher_id.in_([v.id for v in vouchers.values()]))
            .order_by(VoucherEvent.id)
        ).all()
    )
    out = []
    for pid, display, class_name, school_id, school_name in pupils:
        v = vouchers.get(pid)
        out.append(
            ChildOverview(
                pid,
                display,
                class_name,
                school_id,
                school_name,
                v.id if v else None,
                v.status if v else None,
                v.valid_until if v else None,
                reasons.get(v.id) if v else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class PassTokens:
    """One request's worth of pass tokens: one serial, one token per window."""

    serial: int
    display: str
    school_id: int
    tokens: tuple[tuple[int, int, str], ...]  # (nbf, exp, QR text)


def issue_pass_tokens(
    session: Session,
    keys: KeyStore,
    voucher_id: int,
    *,
    serial: int | None,
    windows: Sequence[tuple[int, int]],
    now: datetime,
) -> PassTokens:
    """A pass's tokens in one go, through the same checks and signing as `issue_qr`: one token per
    (nbf, exp) window under one serial, the pass's own if it still stands, else the next one."""
    # the voucher (row-locked) and its pupil's display in one round trip
    stmt = (
        select(Voucher, Pupil.display)
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(Voucher.id == voucher_id)
    )
    found = session.execute(for_update(session, stmt, of=Voucher)).first()
    if found is None:
        raise not_found("voucher")
    v, display = found
    end = _issuable(v, now)
    if serial is None or serial < v.min_serial or serial >= v.next_serial:
        serial = _next_serial(v, now)
    tokens = _sign(keys.signing_key(KeyRole.VOUCHER_ISSUER), v, serial, windows, end)
    return PassTokens(serial, display or "", v.school_id, tokens)


# The vouchers a pass may be given tokens under the serial it holds, with their pupil's display: the
# checks of `issue_pass_tokens` (active, within its year: bind `today`) as a subquery, so the pass's
# refresh checks and records itself in one statement. The pass's serial is compared by the caller.
ISSUABLE_FOR_PASS = (
    select(
        _VOUCHERS.c.id,
        _VOUCHERS.c.school_id,
        _VOUCHERS.c.plan,
        _VOUCHERS.c.valid_until,
        _VOUCHERS.c.min_serial,
        _VOUCHERS.c.next_serial,
        Pupil.display,
    )
    .join(Pupil, Pupil.id == _VOUCHERS.c.pupil_id)
    .where(_VOUCHERS.c.status == VoucherStatus.ACTIVE.value, _VOUCHERS.c.valid_until >= bindparam("today"))
    .subquery("issuable")
)


def sign_pass_tokens(
    key: SigningKey, v: _Signed, serial: int, windows: Sequence[tuple[int, int]], valid_until: date
) -> tuple[tuple[int, int, str], ...]:
    """`issue_pass_tokens`'s signing, for a voucher already checked (`ISSUABLE_FOR_PASS`)."""
    return _sign(key, v, serial, windows, _end_of(valid_until))


def supersede(session: Session, voucher_id: int, *, actor: str, reason: str, now: datetime) -> int:
    """Takes a new serial and makes it the minimum: terminals refuse every older token as SUPERSEDED
    from their next sync. Returns the new minimum."""
    v = session.scalars(for_update(session, select(Voucher).where(Voucher.id == voucher_id))).first()
    if v is None:
        raise not_found("voucher")
    serial = v.next_serial
    if serial > MAX_SERIAL:
        raise DomainError(VoucherReason.SERIAL_EXHAUSTED, "no token serials left this year")
    v.next_serial, v.min_serial, v.updated_at = serial + 1, serial, now
    session.add(
        VoucherEvent(
            voucher_id=v.id,
            at=now,
            actor=actor,
            old_status=v.status,
            new_status=v.status,
            reason=f"{reason}: tokens before serial {serial} superseded"[:300],
        )
    )
    return serial


def voucher_display(session: Session, voucher_id: int) -> str:
    """The initials and class of a voucher's pupil, as terminals and passes show them."""
    return (
        session.scalar(
            select(Pupil.display).join(Voucher, Voucher.pupil_id == Pupil.id).where(Voucher.id == voucher_id)
        )
        or ""
    )


def activate_by_school(uow: UnitOfWork, principal: Principal, voucher_id: int, now: datetime) -> Voucher:
    """A grade 1–4 pupil with no linked parent: where the district allows it, the school activates the
    voucher (nobody else could). Anyone with a linked parent activates their own."""
    session = uow.session
    v = session.scalars(for_update(session, select(Voucher).where(Voucher.id == voucher_id))).first()
    if v is None or v.school_id not in principal.school_ids:
        raise not_found("voucher")
    school = session.get(School, v.school_id)
    assert school is not None  # a foreign key
    setting = session.get(DistrictSettingsRow, school.district)
    if setting is None or not setting.school_activates_unlinked:
        raise DomainError(VoucherReason.SCHOOL_ACTIVATION_OFF, "the district does not let schools activate")
    pupil = session.get(Pupil, v.pupil_id)
    assert pupil is not None
    if pupil.grade > LAST_UNCONDITIONAL_GRADE:
        raise DomainError(VoucherReason.PARENT_ACTIVATES, "grades 5–11 are activated by the parent")
    if session.scalar(select(Guardianship.id).where(Guardianship.pupil_id == pupil.id).limit(1)) is not None:
        raise DomainError(VoucherReason.PARENT_ACTIVATES, "a linked parent activates this voucher")
    change_status(
        session,
        v,
        VoucherStatus.ACTIVE,
        actor=f"admin:{principal.id}",
        reason="activated by the school",
        now=now,
    )
    uow.commit()
    return v
