"""Pass use cases: share a one-time link, install it on a phone, refresh its tokens, list, revoke."""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.auth.model import Principal
from backend.calendar.model import SchoolCalendar
from backend.calendar.services import load_calendar
from backend.errors import DomainError, not_found
from backend.fleet.allowlist import change_counter
from backend.keys import KeyStore
from backend.unit_of_work import UnitOfWork
from backend.vouchers import services as vouchers
from backend.vouchers.model import VoucherReason, VoucherStatus
from backend.web_settings import WebSettings

from .model import PassReason, SlotTimes, coming_slots, windows
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
        with self._lock:
            kept = self._kept.get(school_id)
        if kept is not None and kept[0] == counter:
            return kept[1]
        calendar = load_calendar(session, school_id)
        with self._lock:
            if len(self._kept) >= self._max:
                self._kept.clear()  # a country's schools fit; this only bounds a misuse
            self._kept[school_id] = (counter, calendar)
        return calendar


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
    slots = coming_slots(calendar, now, school_days=settings.pass_school_days)
    ws = windows(slots, now, window_seconds=settings.pass_window_seconds)
    issued = vouchers.issue_pass_tokens(
        session, keys, row.voucher_id, serial=row.serial, windows=[(w.nbf, w.exp) for w in ws], now=now
    )
    slot_of = {w.nbf: w.slot for w in ws}
    row.serial, row.last_refresh_at, row.refreshes = issued.serial, now, row.refreshes + 1
    uow.commit()
    return PassData(
        server_time=int(now.timestamp()),
        display=issued.display,
        serial=issued.serial,
        window_seconds=settings.pass_window_seconds,
        tokens=tuple(PassToken(slot_of[nbf], nbf, exp, qr) for nbf, exp, qr in issued.tokens),
        slots=tuple(s for s in slots if s.end <= max((t[1] for t in issued.tokens), default=0)),
    )


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
