"""Fleet use cases: enrolment codes, enrolment, retire and move, health reports, the fleet view."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.auth.model import AuthReason
from backend.errors import DomainError
from backend.roster.tables import Pupil, School
from backend.unit_of_work import UnitOfWork
from shared_crypto import VerifyKey, uid_hash
from shared_crypto.card import PSEUDONYM_LEN

from .model import (
    CODE_VALIDITY,
    MAX_HOSTNAME_LEN,
    MAX_VERSION_LEN,
    EnrolmentCode,
    FleetError,
    FleetReason,
    HealthReport,
    TerminalStatus,
    check_code,
    code_digest,
    new_code,
)
from .tables import CardRegistration, EnrolmentCodeRow, TerminalRow


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    school_id: int
    canteen_id: int
    expires_at: datetime


def create_enrolment_code(
    uow: UnitOfWork, *, school_id: int, canteen_id: int, admin_id: int | None, now: datetime
) -> IssuedCode:
    code = _new_code(uow.session, school_id=school_id, canteen_id=canteen_id, admin_id=admin_id, now=now)
    uow.commit()
    return code


def _new_code(
    session: Session, *, school_id: int, canteen_id: int, admin_id: int | None, now: datetime
) -> IssuedCode:
    if session.get(School, school_id) is None:
        raise FleetError(FleetReason.NO_SUCH_SCHOOL, f"school {school_id}")
    if not 1 <= canteen_id <= 999:
        raise FleetError(FleetReason.BAD_CANTEEN, "canteen number is 1..999")
    code = new_code()
    expires = now + CODE_VALIDITY
    session.add(
        EnrolmentCodeRow(
            digest=code_digest(code),
            school_id=school_id,
            canteen_id=canteen_id,
            created_by=admin_id,
            created_at=now,
            expires_at=expires,
        )
    )
    return IssuedCode(code, school_id, canteen_id, expires)


def _public_key(hex_key: object) -> VerifyKey:
    try:
        if not isinstance(hex_key, str):
            raise ValueError
        return VerifyKey(bytes.fromhex(hex_key))
    except ValueError:
        raise FleetError(FleetReason.BAD_PUBLIC_KEY, "public_key is 32 bytes of hex (Ed25519)") from None


def enrol(
    uow: UnitOfWork, *, code: str, public_key: object, hostname: str, software_version: str, now: datetime
) -> TerminalRow:
    """Spend a one-time code on a new terminal bound to the code's school and canteen."""
    session = uow.session
    key = _public_key(public_key)
    row = session.scalars(
        for_update(session, select(EnrolmentCodeRow).where(EnrolmentCodeRow.digest == code_digest(code)))
    ).first()
    check_code(
        None
        if row is None
        else EnrolmentCode(row.digest, row.school_id, row.canteen_id, row.expires_at, row.used_at),
        now,
    )
    assert row is not None
    clash = session.scalars(
        select(TerminalRow.id).where(TerminalRow.kid == key.kid, TerminalRow.status == TerminalStatus.ACTIVE)
    ).first()
    if clash is not None:
        raise FleetError(FleetReason.KEY_IN_USE, f"terminal {clash} still holds this key: retire it first")
    terminal = TerminalRow(
        school_id=row.school_id,
        canteen_id=row.canteen_id,
        public_key=key.raw,
        kid=key.kid,
        hostname=hostname[:MAX_HOSTNAME_LEN],
        status=TerminalStatus.ACTIVE.value,
        software_version=software_version[:MAX_VERSION_LEN],
        backlog=0,
        faults=[],
        enrolled_at=now,
    )
    session.add(terminal)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a concurrent enrolment of the same key won
        raise FleetError(FleetReason.KEY_IN_USE, "another terminal holds this key") from None
    row.used_at = now
    row.terminal_id = terminal.id
    uow.commit()
    return terminal


def _terminal(session: Session, terminal_id: int, school_ids: frozenset[int] | None) -> TerminalRow:
    row = session.get(TerminalRow, terminal_id)
    if row is None or (school_ids is not None and row.school_id not in school_ids):
        raise FleetError(FleetReason.NO_SUCH_TERMINAL, f"terminal {terminal_id}")
    return row


def retire(
    uow: UnitOfWork, terminal_id: int, *, now: datetime, school_ids: frozenset[int] | None = None
) -> None:
    """From now on the terminal's key is refused; its uploaded meals stay."""
    _retire(uow.session, terminal_id, now=now, school_ids=school_ids)
    uow.commit()


def _retire(session: Session, terminal_id: int, *, now: datetime, school_ids: frozenset[int] | None) -> None:
    row = _terminal(session, terminal_id, school_ids)
    if row.status == TerminalStatus.RETIRED:
        raise FleetError(FleetReason.TERMINAL_RETIRED, f"terminal {terminal_id} is retired already")
    row.status = TerminalStatus.RETIRED.value
    row.retired_at = now


def move(
    uow: UnitOfWork,
    terminal_id: int,
    *,
    school_id: int,
    canteen_id: int,
    admin_id: int | None,
    now: datetime,
    school_ids: frozenset[int] | None = None,
) -> IssuedCode:
    """A move is a retirement plus a code for the new school: the device enrols again (it may keep its key)."""
    if school_ids is not None and school_id not in school_ids:
        raise FleetError(FleetReason.NO_SUCH_SCHOOL, f"school {school_id}")
    _retire(uow.session, terminal_id, now=now, school_ids=school_ids)
    code = _new_code(uow.session, school_id=school_id, canteen_id=canteen_id, admin_id=admin_id, now=now)
    uow.commit()
    return code


# Core on the table, built once: the ORM's bulk-update path costs more than the indexed write (each upload)
_TERMINALS = cast(Table, TerminalRow.__table__)
_MARK_SEEN = (
    _TERMINALS.update().where(_TERMINALS.c.id == bindparam("terminal")).values(last_seen=bindparam("at"))
)


def mark_seen(session: Session, terminal_id: int, at: datetime) -> None:
    """The terminal was heard from (an upload), without loading its row."""
    session.connection().execute(_MARK_SEEN, {"terminal": terminal_id, "at": at})


def record_health(uow: UnitOfWork, terminal_id: int, report: HealthReport, *, now: datetime) -> None:
    row = _terminal(uow.session, terminal_id, None)
    row.last_sync = None if report.last_sync is None else datetime.fromtimestamp(report.last_sync, UTC)
    row.backlog = report.backlog
    row.clock_offset = report.clock_offset_s
    row.software_version = report.software_version
    row.faults = list(report.faults)
    row.disk_free_bytes = report.disk_free_bytes
    row.last_seen = now
    uow.commit()


@dataclass(frozen=True, slots=True)
class TerminalView:
    terminal_id: int
    school_id: int
    canteen_id: int
    status: str
    hostname: str
    software_version: str
    last_sync: datetime | None
    last_seen: datetime | None
    backlog: int
    clock_offset_s: float | None
    faults: tuple[str, ...]
    disk_free_bytes: int | None
    enrolled_at: datetime


def fleet_view(session: Session, school_id: int, *, include_retired: bool = False) -> list[TerminalView]:
    return fleet_views(session, [school_id], include_retired=include_retired).get(school_id, [])


def fleet_views(
    session: Session, school_ids: Collection[int], *, include_retired: bool = False
) -> dict[int, list[TerminalView]]:
    """The terminals of many schools in one query (the district's dashboard): school → its terminals."""
    stmt = (
        select(TerminalRow)
        .where(TerminalRow.school_id.in_(sorted(school_ids)))
        .order_by(TerminalRow.school_id, TerminalRow.id)
    )
    if not include_retired:
        stmt = stmt.where(TerminalRow.status == TerminalStatus.ACTIVE)
    out: dict[int, list[TerminalView]] = {}
    for r in session.scalars(stmt):
        out.setdefault(r.school_id, []).append(
            TerminalView(
                r.id,
                r.school_id,
                r.canteen_id,
                r.status,
                r.hostname,
                r.software_version,
                r.last_sync,
                r.last_seen,
                r.backlog,
                r.clock_offset,
                tuple(r.faults or ()),
                r.disk_free_bytes,
                r.enrolled_at,
            )
        )
    return out


def card_pupil(session: Session, school_ids: frozenset[int], pseudonym: bytes) -> Pupil:
    """The pupil a card is made or registered for, in one of the caller's schools."""
    pupil = session.scalars(select(Pupil).where(Pupil.pseudonym == pseudonym)).first()
    if len(pseudonym) != PSEUDONYM_LEN or pupil is None:
        raise FleetError(FleetReason.NO_SUCH_PUPIL, "no pupil with that pseudonym")
    if pupil.school_id not in school_ids:
        raise DomainError(AuthReason.FORBIDDEN, "the pupil's school is not one of yours")
    return pupil


def register_card(
    uow: UnitOfWork, school_ids: frozenset[int], pseudonym: bytes, uid: bytes, *, now: datetime
) -> bytes:
    """A card the school already has (not an NTAG credential) registered to a pupil; returns its UID hash."""
    session = uow.session
    digest = uid_hash(uid)
    pupil = card_pupil(session, school_ids, pseudonym)
    row = session.scalars(select(CardRegistration).where(CardRegistration.uid_hash == digest)).first()
    if row is not None and row.active:
        raise FleetError(FleetReason.CARD_ALREADY_REGISTERED, "this card is registered to a pupil")
    if row is None:
        session.add(CardRegistration(pupil_id=pupil.id, uid_hash=digest, registered_at=now, active=True))
    else:  # a card given back and handed out again
        row.pupil_id, row.registered_at, row.active = pupil.id, now, True
    uow.commit()
    return digest


@dataclass(frozen=True, slots=True)
class UidOnlyCard:
    pupil_id: int
    display: str  # initials and class: the school knows whom to call in for a signed card
    class_name: str
    registered_at: datetime


def uid_only_cards(session: Session, school_id: int) -> list[UidOnlyCard]:
    """Pupils of a school served by a card registered by UID alone (no signed credential)."""
    rows = session.execute(
        select(Pupil.id, Pupil.display, Pupil.class_name, CardRegistration.registered_at)
        .join(CardRegistration, CardRegistration.pupil_id == Pupil.id)
        .where(Pupil.school_id == school_id, CardRegistration.active.is_(True))
        .order_by(Pupil.class_name, Pupil.display, Pupil.id)
    ).all()
    return [UidOnlyCard(*r) for r in rows]
