"""Pass use cases: share a one-time link, install it on a phone, refresh its tokens, list, revoke."""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.auth.model import Principal
from backend.calendar.model import SchoolCalendar
from backend.calendar.services import load_calendar
from backend.clock import local_date
from backend.db import Standalone
from backend.errors import DomainError, not_found
from backend.fleet.allowlist import change_counter, change_counter_of
from backend.keys import KeyStore
from backend.unit_of_work import UnitOfWork
from backend.vouchers import services as vouchers
from backend.vouchers.model import VoucherReason, VoucherStatus
from backend.web_settings import WebSettings
from shared_crypto import KeyRole

from .model import PassReason, SlotTimes, Window, coming_slots, windows
from .tables import PupilPassRow


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class SharedLink:
    pass_id: int
    token: str  # goes into the one-time link; only its hash is kept
    expires_at: datetime


def share(
    uow: UnitOfWork, principal: Principal, voucher_id: int, *, now: datetime, ttl: timedelta
) -> SharedLink:
    session = uow.session
    v = vouchers.voucher_for_parent(session, principal, voucher_id)
    if v.status != VoucherStatus.ACTIVE:
        raise DomainError(VoucherReason.NOT_ACTIVE, f"the voucher is {v.status}; activate it first")
    token = secrets.token_urlsafe(32)
    row = PupilPassRow(
        voucher_id=v.id,
        school_id=v.school_id,
        parent_id=principal.parent_id,
        created_at=now,
        link_hash=_hash(token),
        link_expires_at=now + ttl,
        refreshes=0,
    )
    session.add(row)
    session.flush()
    uow.commit()
    return SharedLink(row.id, token, row.link_expires_at)


def _by_link(session: Session, link: str, now: datetime, *, lock: bool = False) -> PupilPassRow:
    stmt = select(PupilPassRow).where(PupilPassRow.link_hash == _hash(link))
    row = session.scalars(for_update(session, stmt) if lock else stmt).first()
    if row is None:
        raise not_found("pass link")
    if row.revoked_at is not None:
        raise DomainError(PassReason.REVOKED, "this pass was revoked")
    if row.installed_at is not None:
        raise DomainError(PassReason.LINK_USED, "this link was opened already")
    if row.link_expires_at <= now:
        raise DomainError(PassReason.LINK_EXPIRED, "this link has expired")
    return row


def link_child(session: Session, link: str, now: datetime) -> str:
    """Whose pass a link installs (initials and class), for the page that asks before installing."""
    row = _by_link(session, link, now)
    return vouchers.voucher_display(session, row.voucher_id)


def install(uow: UnitOfWork, link: str, *, label: str, now: datetime) -> str:
    """Opens the link once: the phone gets the pass's own secret; the link is spent."""
    row = _by_link(uow.session, link, now, lock=True)
    device = secrets.token_urlsafe(32)
    row.installed_at, row.device_hash, row.device_label = now, _hash(device), label[:60] or None
    uow.commit()
    return device


@dataclass(frozen=True, slots=True)
class PassToken:
    slot: int
    nbf: int
    exp: int
    qr: str


@dataclass(frozen=True, slots=True)
class PassData:
    server_time: int
    display: str
    serial: int
    window_seconds: int
    tokens: tuple[PassToken, ...]
    slots: tuple[SlotTimes, ...]


class Calendars:
    """Schools' calendars for pass windows, kept by a process while the school's change counter stands
    (backend.fleet.allowlist.change_counter: raised by every write to the school's week, slots, its or
    its district's calendar days, or its district). One indexed read instead of four queries and their
    rows on every refresh. The counter is read first in the same transaction, so a calendar is never
    kept under a newer counter than the rows it was built from."""

    def __init__(self, max_schools: int = 8192) -> None:
        self._lock = threading.Lock()
        self._kept: dict[int, tuple[int, SchoolCalendar]] = {}
        self._max = max_schools

    def get(self, session: Session, school_id: int) -> SchoolCalendar:
        counter = change_counter(session, school_id)
        kept = self.kept(school_id, counter)
        if kept is not None:
            return kept
        calendar = load_calendar(session, school_id)
        with self._lock:
            if len(self._kept) >= self._max:
                self._kept.clear()  # a country's schools fit; this only bounds a misuse
            self._kept[school_id] = (counter, calendar)
        return calendar

    def kept(self, school_id: int, counter: int) -> SchoolCalendar | None:
        """The school's calendar if it is kept under `counter`, the change counter just read."""
        with self._lock:
            kept = self._kept.get(school_id)
        return kept[1] if kept is not None and kept[0] == counter else None


def refresh(
    uow: UnitOfWork,
    keys: KeyStore,
    device: str,
    *,
    settings: WebSettings,
    now: datetime,
    calendars: Calendars | None = None,
) -> PassData:
    """All the pass's tokens for the coming school days in one go, under the pass's serial. With
    `calendars` (the API process's), the school's calendar is read only when it changed."""
    session = uow.session
    stmt = select(PupilPassRow).where(PupilPassRow.device_hash == _hash(device))
    row = session.scalars(for_update(session, stmt)).first()
    if row is None:
        raise not_found("pass")
    if row.revoked_at is not None:
        raise DomainError(PassReason.REVOKED, "this pass was revoked")
    calendar = calendars.get(session, row.school_id) if calendars else load_calendar(session, row.school_id)
    slots, ws = _coming(calendar, now, settings)
    issued = vouchers.issue_pass_tokens(
        session, keys, row.voucher_id, serial=row.serial, windows=[(w.nbf, w.exp) for w in ws], now=now
    )
    row.serial, row.last_refresh_at, row.refreshes = issued.serial, now, row.refreshes + 1
    uow.commit()
    return _pass_data(now, settings, issued.display, issued.serial, slots, ws, issued.tokens)


def _coming(
    calendar: SchoolCalendar, now: datetime, settings: WebSettings
) -> tuple[list[SlotTimes], list[Window]]:
    slots = coming_slots(calendar, now, school_days=settings.pass_school_days)
    return slots, windows(slots, now, window_seconds=settings.pass_window_seconds)


def _pass_data(
    now: datetime,
    settings: WebSettings,
    display: str,
    serial: int,
    slots: list[SlotTimes],
    ws: list[Window],
    tokens: tuple[tuple[int, int, str], ...],
) -> PassData:
    slot_of = {w.nbf: w.slot for w in ws}
    return PassData(
        server_time=int(now.timestamp()),
        display=display,
        serial=serial,
        window_seconds=settings.pass_window_seconds,
        tokens=tuple(PassToken(slot_of[nbf], nbf, exp, qr) for nbf, exp, qr in tokens),
        slots=tuple(s for s in slots if s.end <= max((t[1] for t in tokens), default=0)),
    )


# `refresh`'s common case as one statement: an installed, unrevoked pass whose serial still stands on its
# voucher (active, within its year) records the refresh and returns what its tokens need, its school's
# change counter included. Everything else matches no row and is left to `refresh`, which says why.
_PASSES = cast(Table, PupilPassRow.__table__)
_ISSUABLE = vouchers.ISSUABLE_FOR_PASS.c
_REFRESH_STANDING = (
    update(_PASSES)
    .where(
        _PASSES.c.device_hash == bindparam("device"),
        _PASSES.c.revoked_at.is_(None),
        _PASSES.c.voucher_id == _ISSUABLE.id,
        _PASSES.c.serial >= _ISSUABLE.min_serial,
        _PASSES.c.serial < _ISSUABLE.next_serial,
    )
    .values(
        last_refresh_at=bindparam("now", type_=_PASSES.c.last_refresh_at.type),
        refreshes=_PASSES.c.refreshes + 1,
    )
    .returning(
        _ISSUABLE.id,
        _ISSUABLE.school_id,
        _ISSUABLE.plan,
        _ISSUABLE.valid_until,
        _ISSUABLE.display,
        _PASSES.c.serial,
        _PASSES.c.school_id.label("pass_school_id"),
        change_counter_of(_PASSES.c.school_id).label("counter"),
    )
)


def refresh_standing(
    engine: Engine,
    standalone: Standalone,
    keys: KeyStore,
    device: str,
    *,
    settings: WebSettings,
    now: datetime,
    calendars: Calendars,
) -> PassData | None:
    """What `refresh` answers for a pass whose serial still stands (every refresh but a pass's first and
    the first after its voucher's serial moved on), from one autocommit statement; None when it does not
    apply (or on SQLite, the embedded default), and then nothing was written: the caller asks `refresh`. No lock is held while signing: the
    statement's row lock on the pass orders it among concurrent refreshes, and a revocation or supersede
    committed after it refuses these tokens as it would refuse `refresh`'s."""
    if engine.dialect.name == "sqlite":  # its RETURNING cannot name the FROM subquery's columns
        return None
    key = keys.signing_key(KeyRole.VOUCHER_ISSUER)  # before the refresh is recorded: nothing left to fail
    params = {"device": _hash(device), "now": now, "today": local_date(now)}
    row = standalone.first(_REFRESH_STANDING, params)
    if row is None:
        return None
    calendar = calendars.kept(row.pass_school_id, int(row.counter or 0))
    if calendar is None:  # the school's calendar changed since this process last read it
        with Session(engine) as session:
            calendar = calendars.get(session, row.pass_school_id)
    slots, ws = _coming(calendar, now, settings)
    tokens = vouchers.sign_pass_tokens(key, row, row.serial, [(w.nbf, w.exp) for w in ws], row.valid_until)
    return _pass_data(now, settings, row.display or "", row.serial, slots, ws, tokens)


@dataclass(frozen=True, slots=True)
class PassView:
    pass_id: int
    created_at: datetime
    installed_at: datetime | None
    device_label: str | None
    last_refresh_at: datetime | None
    revoked_at: datetime | None
    link_expires_at: datetime


def passes_of(session: Session, principal: Principal, voucher_id: int) -> list[PassView]:
    vouchers.voucher_for_parent(session, principal, voucher_id)
    rows = session.scalars(
        select(PupilPassRow).where(PupilPassRow.voucher_id == voucher_id).order_by(PupilPassRow.id.desc())
    )
    return [
        PassView(
            r.id,
            r.created_at,
            r.installed_at,
            r.device_label,
            r.last_refresh_at,
            r.revoked_at,
            r.link_expires_at,
        )
        for r in rows
    ]


def revoke(uow: UnitOfWork, principal: Principal, pass_id: int, *, now: datetime) -> int:
    """Ends a pass. An installed one also takes the voucher a new serial, so the tokens on that phone
    are refused (SUPERSEDED) by every terminal from its next sync; the child's other passes move to
    the new serial at their next refresh. Returns the voucher id."""
    session = uow.session
    row = session.scalars(for_update(session, select(PupilPassRow).where(PupilPassRow.id == pass_id))).first()
    if row is None:
        raise not_found("pass")
    vouchers.voucher_for_parent(session, principal, row.voucher_id)  # 404 for a foreign pass
    if row.revoked_at is not None:
        return row.voucher_id
    row.revoked_at = now
    if row.installed_at is not None:
        vouchers.supersede(
            session,
            row.voucher_id,
            actor=f"parent:{principal.parent_id}",
            reason=f"pass {row.id} revoked",
            now=now,
        )
    uow.commit()
    return row.voucher_id
