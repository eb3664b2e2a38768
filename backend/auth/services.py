"""Sign-in use cases: admin password, parent one-time code, and resolving a bearer token to a principal."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.adapters.egov import EgovSignIn
from backend.adapters.locking import for_update
from backend.auth.tables import Admin, AdminSchool, AuthSession, ParentOtp
from backend.errors import DomainError
from backend.roster.tables import Guardianship, Parent, Pupil, School
from backend.sms.model import OTP_KIND
from backend.sms.outbox import queue_sms
from backend.sms.phones import normalize_phone
from backend.unit_of_work import UnitOfWork

from .model import AuthReason, Principal, Role, new_otp_code, new_token, token_hash
from .passwords import hash_code, hash_password, verify_code, verify_password

OTP_MAX_ATTEMPTS = 5
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
OTP_MAX_ACTIVE = 3


def create_admin(
    session: Session,
    *,
    login: str,
    password: str,
    role: Role,
    district: str | None = None,
    school_ids: tuple[int, ...] = (),
    password_hash: str | None = None,
) -> Admin:
    if role is Role.DISTRICT_ADMIN and not district:
        raise DomainError(AuthReason.DISTRICT_REQUIRED, "a district admin needs a district")
    admin = Admin(
        login=login, password_hash=password_hash or hash_password(password), role=role, district=district
    )
    session.add(admin)
    session.flush()
    for sid in school_ids:
        session.add(AdminSchool(admin_id=admin.id, school_id=sid))
    return admin


def open_session(session: Session, *, kind: str, subject_id: int, now: datetime, ttl: timedelta) -> str:
    token = new_token()
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            kind=kind,
            subject_id=subject_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def login_admin(uow: UnitOfWork, *, login: str, password: str, now: datetime, ttl: timedelta) -> str:
    """Password sign-in. MAX_FAILED_LOGINS wrong passwords in a row lock the login for LOCKOUT; a failed
    attempt is committed too, so it counts toward the lockout although the sign-in is refused."""
    try:
        return _login_admin(uow.session, login=login, password=password, now=now, ttl=ttl)
    finally:
        uow.commit()


def _login_admin(session: Session, *, login: str, password: str, now: datetime, ttl: timedelta) -> str:
    stmt = select(Admin).where(Admin.login == login)
    admin = session.scalars(for_update(session, stmt)).first()
    if admin is not None and admin.locked_until is not None and admin.locked_until > now:
        raise DomainError(AuthReason.LOGIN_LOCKED, "too many wrong passwords; try again later")
    if not verify_password(admin.password_hash if admin else None, password) or admin is None:
        if admin is not None:
            admin.failed_logins += 1
            if admin.failed_logins >= MAX_FAILED_LOGINS:
                admin.failed_logins, admin.locked_until = 0, now + LOCKOUT
        raise DomainError(AuthReason.BAD_CREDENTIALS, "wrong login or password")
    admin.failed_logins, admin.locked_until = 0, None
    return open_session(session, kind="admin", subject_id=admin.id, now=now, ttl=ttl)


def request_otp(uow: UnitOfWork, *, phone: str, now: datetime, ttl: timedelta) -> None:
    """Queue a one-time code to a phone on record. Unknown numbers get the same answer and no SMS."""
    _request_otp(uow.session, phone=phone, now=now, ttl=ttl)
    uow.commit()


def _request_otp(session: Session, *, phone: str, now: datetime, ttl: timedelta) -> None:
    canon = normalize_phone(phone)
    if canon is None:
        raise DomainError(AuthReason.PHONE_INVALID, "not a Kazakhstan mobile number")
    if session.scalar(select(Parent.id).where(Parent.phone == canon).limit(1)) is None:
        return
    active = session.scalar(
        select(func.count())
        .select_from(ParentOtp)
        .where(ParentOtp.phone == canon, ParentOtp.expires_at > now, ParentOtp.used.is_(False))
    )
    if (active or 0) >= OTP_MAX_ACTIVE:
        raise DomainError(AuthReason.OTP_RATE_LIMITED, "too many codes requested; wait and retry")
    code = new_otp_code()
    session.add(
        ParentOtp(phone=canon, code_hash=hash_code(code), expires_at=now + ttl, attempts=0, used=False)
    )
    queue_sms(session, phone=canon, body=f"Код входа / Кіру коды: {code}", kind=OTP_KIND, now=now)


def login_parent(uow: UnitOfWork, *, phone: str, code: str, now: datetime, ttl: timedelta) -> str:
    """One-time code sign-in; a wrong code is committed too, as it counts toward the code's attempts."""
    try:
        return _login_parent(uow.session, phone=phone, code=code, now=now, ttl=ttl)
    finally:
        uow.commit()


def _login_parent(session: Session, *, phone: str, code: str, now: datetime, ttl: timedelta) -> str:
    canon = normalize_phone(phone)
    bad = DomainError(AuthReason.OTP_INVALID, "wrong or expired code")
    if canon is None:
        raise bad
    otps = session.scalars(
        select(ParentOtp)
        .where(ParentOtp.phone == canon, ParentOtp.expires_at > now, ParentOtp.used.is_(False))
        .order_by(ParentOtp.id.desc())
    ).all()
    for otp in otps:
        if otp.attempts >= OTP_MAX_ATTEMPTS:
            continue
        otp.attempts += 1
        if verify_code(otp.code_hash, code.strip()):
            otp.used = True
            # Several parent records may share a phone; the earliest record signs in.
            parent_id = session.scalar(
                select(Parent.id).where(Parent.phone == canon).order_by(Parent.id).limit(1)
            )
            if parent_id is None:
                break
            return open_session(session, kind="parent", subject_id=parent_id, now=now, ttl=ttl)
    raise bad


def login_parent_egov(
    uow: UnitOfWork, egov: EgovSignIn, *, assertion: str, now: datetime, ttl: timedelta
) -> str:
    """Sign a parent in with an eGov assertion: the IIN it vouches for must be a parent on record."""
    session = uow.session
    iin = egov.verify(assertion)
    parent_id = session.scalar(select(Parent.id).where(Parent.iin == iin).order_by(Parent.id).limit(1))
    if parent_id is None:
        raise DomainError(AuthReason.NOT_A_PARENT, "no parent on record for this eGov account")
    token = open_session(session, kind="parent", subject_id=parent_id, now=now, ttl=ttl)
    uow.commit()
    return token


def principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    row = session.get(AuthSession, token_hash(token))
    if row is None or row.expires_at <= now:
        return None
    if row.kind == "admin":
        admin = session.get(Admin, row.subject_id)
        if admin is None:
            return None
        return admin_principal(session, admin)
    if row.kind == "parent":
        return parent_principal(session, row.subject_id)
    return None


def admin_principal(session: Session, admin: Admin) -> Principal:
    schools = set(session.scalars(select(AdminSchool.school_id).where(AdminSchool.admin_id == admin.id)))
    role = Role(admin.role)
    if role is Role.DISTRICT_ADMIN and admin.district:
        schools.update(session.scalars(select(School.id).where(School.district == admin.district)))
    return Principal(
        kind="admin", id=admin.id, role=role, district=admin.district, school_ids=frozenset(schools)
    )


def parent_principal(session: Session, parent_id: int) -> Principal:
    rows = session.execute(
        select(Pupil.id, Pupil.school_id)
        .join(Guardianship, Guardianship.pupil_id == Pupil.id)
        .where(Guardianship.parent_id == parent_id)
    ).all()
    return Principal(
        kind="parent",
        id=parent_id,
        school_ids=frozenset(r.school_id for r in rows),
        pupil_ids=frozenset(r.id for r in rows),
    )


def logout(uow: UnitOfWork, token: str) -> None:
    uow.session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    uow.commit()


def parent_language(session: Session, parent_id: int) -> str | None:
    """The language on the parent's record ("kk", "ru" or "kk+ru"); the pages start from it."""
    return session.scalar(select(Parent.language).where(Parent.id == parent_id))
