"""Fleet use cases: enrolment codes, enrolment, retire and move, health reports, the fleet view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.roster.tables import School
from shared_crypto import VerifyKey

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
from .tables import EnrolmentCodeRow, TerminalRow


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    school_id: int
    canteen_id: int
    expires_at: datetime


def create_enrolment_code(
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
    session: Session, *, code: str, public_key: object, hostname: str, software_version: str, now: datetime
) -> TerminalRow:
    """Spend a one-time code on a new terminal bound to the code's school and canteen."""
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
    return terminal


def _terminal(session: Session, terminal_id: int, school_ids: frozenset[int] | None) -> TerminalRow:
    row = session.get(TerminalRow, terminal_id)
    if row is None or (school_ids is not None and row.school_id not in school_ids):
        raise FleetError(FleetReason.NO_SUCH_TERMINAL, f"terminal {terminal_id}")
    return row


def retire(
    session: Session, terminal_id: int, *, now: datetime, school_ids: frozenset[int] | None = None
) -> None:
    """From now on the terminal's key is refused; its uploaded meals stay."""
    row = _terminal(session, terminal_id, school_ids)
    if row.status == TerminalStatus.RETIRED:
        raise FleetError(FleetReason.TERMINAL_RETIRED, f"terminal {terminal_id} is retired already")
    row.status = TerminalStatus.RETIRED.value
    row.retired_at = now


def move(
    session: Session,
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
    retire(session, terminal_id, now=now, school_ids=school_ids)
    return create_enrolment_code(
        session, school_id=school_id, canteen_id=canteen_id, admin_id=admin_id, now=now
    )


def record_health(session: Session, terminal_id: int, report: HealthReport, *, now: datetime) -> None:
    row = _terminal(session, terminal_id, None)
    row.last_sync = None if report.last_sync is None else datetime.fromtimestamp(report.last_sync, UTC)
    row.backlog = report.backlog
    row.clock_offset = report.clock_offset_s
    row.software_version = report.software_version
    row.faults = list(report.faults)
    row.disk_free_bytes = report.disk_free_bytes
    row.last_seen = now


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
    stmt = select(TerminalRow).where(TerminalRow.school_id == school_id).order_by(TerminalRow.id)
    if not include_retired:
        stmt = stmt.where(TerminalRow.status == TerminalStatus.ACTIVE)
    return [
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
        for r in session.scalars(stmt)
    ]
