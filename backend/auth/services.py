"""Sign-in use cases: admin password, parent one-time code, and resolving a bearer token to a principal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.orm import Session

from backend.adapters.egov import EgovSignIn
from backend.auth.tables import Admin, AdminSchool, AuthSession, ParentOtp
from backend.clock import SystemClock, local_date
from backend.errors import DomainError, RateLimited
from backend.roster.suppliers import schools_of_supplier
from backend.roster.tables import Guardianship, Parent, Pupil, School
from backend.sms.model import OTP_KIND
from backend.sms.outbox import queue_code_sms
from backend.sms.phones import normalize_phone
from backend.sms.sealing import seal_key
from backend.throttle.store import Rule, clear, count, record, wait_seconds
from backend.unit_of_work import UnitOfWork

from .codes import code_key, code_mac, code_matches, new_code
from .limits import (
    CODE_ADDRESS,
    CODE_TRIES,
    CODE_TRIES_PER_ADDRESS,
    LOGIN_ACCOUNT,
    LOGIN_ADDRESS,
    OTP_FAIL_ADDRESS,
    OTP_FAIL_PAIR,
    OTP_MAX_LIVE,
    OTP_SEND_ADDRESS,
    OTP_SEND_PAIR,
    OTP_SEND_PHONE,
    OTP_SEND_PHONE_DAY,
)
from .model import AuthReason, Principal, Role, new_token, token_hash
from .passwords import hash_password, totp_matches, verify_password

OTP_TEXT = "Код входа / Кіру коды: {code}"


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


@dataclass(frozen=True, slots=True)
class LoginCandidate:
    """What the password check needs; `password_hash` None for a login no admin has."""

    admin_id: int | None
    password_hash: str | None
    active: bool = False
    totp_secret: str | None = None


def admin_login_gate(uow: UnitOfWork, *, login: str, address: str, now: datetime) -> LoginCandidate:
    """Refuses (429) while the login name or the client address is cooling down, else returns what the
    password check needs. Known and unknown login names are throttled alike. Reads only."""
    session = uow.session
    wait = max(
        wait_seconds(session, LOGIN_ACCOUNT, LOGIN_ACCOUNT.key(login.casefold()), now),
        wait_seconds(session, LOGIN_ADDRESS, LOGIN_ADDRESS.key(address), now),
    )
    if wait:
        raise RateLimited(AuthReason.LOGIN_THROTTLED, "too many wrong passwords; wait and retry", wait)
    admin = session.scalars(select(Admin).where(Admin.login == login)).first()
    if admin is None:
        return LoginCandidate(None, None)
    return LoginCandidate(admin.id, admin.password_hash, admin.active, admin.totp_secret)


def admin_login_finish(
    uow: UnitOfWork,
    candidate: LoginCandidate,
    *,
    login: str,
    address: str,
    password_ok: bool,
    now: datetime,
    ttl: timedelta,
    totp: str | None = None,
) -> str:
    """After the password check: a session, or a counted failure and 401. A deactivated account never
    signs in; an account with a second factor also needs the authenticator's current code. Committed
    either way, so a failure counts toward the cool-down although the sign-in is refused."""
    try:
        return _admin_login_finish(
            uow.session,
            candidate,
            login=login,
            address=address,
            password_ok=password_ok,
            now=now,
            ttl=ttl,
            totp=totp,
        )
    finally:
        uow.commit()


def _admin_login_finish(
    session: Session,
    candidate: LoginCandidate,
    *,
    login: str,
    address: str,
    password_ok: bool,
    now: datetime,
    ttl: timedelta,
    totp: str | None,
) -> str:
    if password_ok and candidate.admin_id is not None and candidate.active:
        if candidate.totp_secret is None or totp_matches(candidate.totp_secret, totp, now):
            clear(session, LOGIN_ACCOUNT.key(login.casefold()))
            return open_session(session, kind="admin", subject_id=candidate.admin_id, now=now, ttl=ttl)
        if not totp:  # the password was right: ask for the second factor without counting a failure
            raise DomainError(AuthReason.TOTP_REQUIRED, "enter the current code from the authenticator app")
    record(session, LOGIN_ACCOUNT, LOGIN_ACCOUNT.key(login.casefold()), now)
    record(session, LOGIN_ADDRESS, LOGIN_ADDRESS.key(address), now)
    if password_ok and candidate.active and candidate.totp_secret is not None:
        raise DomainError(AuthReason.TOTP_REQUIRED, "enter the current code from the authenticator app")
    raise DomainError(AuthReason.BAD_CREDENTIALS, "wrong login or password")


def login_admin(
    uow: UnitOfWork,
    *,
    login: str,
    password: str,
    address: str,
    now: datetime,
    ttl: timedelta,
    totp: str | None = None,
) -> str:
    """Password sign-in in one call (staff pages, tools; the API runs the hash in AppContext.hash_pool)."""
    candidate = admin_login_gate(uow, login=login, address=address, now=now)
    ok = verify_password(candidate.password_hash, password)
    return admin_login_finish(
        uow, candidate, login=login, address=address, password_ok=ok, now=now, ttl=ttl, totp=totp
    )


def _otp_wait(session: Session, rules: tuple[tuple[Rule, tuple[str, ...]], ...], now: datetime) -> int:
    return max(wait_seconds(session, rule, rule.key(*parts), now) for rule, parts in rules)


def request_otp(
    uow: UnitOfWork, *, phone: str, address: str, secret: bytes, now: datetime, ttl: timedelta
) -> None:
    """Queue a one-time code to a phone on record. Every number, on record or not, is counted and
    answered alike, and the same work is done for both but the SMS (sent after the answer). Committed
    even when refused: a refused request counts toward the limits too."""
    try:
        _request_otp(uow.session, phone=phone, address=address, secret=secret, now=now, ttl=ttl)
    finally:
        uow.commit()


def _request_otp(
    session: Session, *, phone: str, address: str, secret: bytes, now: datetime, ttl: timedelta
) -> None:
    canon = normalize_phone(phone)
    if canon is None:
        raise DomainError(AuthReason.PHONE_INVALID, "not a Kazakhstan mobile number")
    rules = (
        (OTP_SEND_PAIR, (canon, address)),
        (OTP_SEND_ADDRESS, (address,)),
        (OTP_SEND_PHONE, (canon,)),
        (OTP_SEND_PHONE_DAY, (canon,)),
    )
    wait = _otp_wait(session, rules, now)
    if not wait:
        wait = max(record(session, rule, rule.key(*parts), now) for rule, parts in rules)
    if wait:
        raise RateLimited(AuthReason.OTP_RATE_LIMITED, "too many codes requested; wait and retry", wait)
    code = new_code()
    mac = code_mac(code_key(secret), canon, code)
    if session.scalar(select(Parent.id).where(Parent.phone == canon).limit(1)) is None:
        return
    live = session.scalars(
        select(ParentOtp)
        .where(ParentOtp.phone == canon, ParentOtp.expires_at > now, ParentOtp.used.is_(False))
        .order_by(ParentOtp.id.desc())
    ).all()
    for old in live[OTP_MAX_LIVE - 1 :]:  # a new code retires the oldest instead of being refused
        old.used = True
    session.add(ParentOtp(phone=canon, code_hash=mac, expires_at=now + ttl, attempts=0, used=False))
    queue_code_sms(
        session, phone=canon, template=OTP_TEXT, code=code, key=seal_key(secret), kind=OTP_KIND, now=now
    )


def login_parent(
    uow: UnitOfWork, *, phone: str, code: str, address: str, secret: bytes, now: datetime, ttl: timedelta
) -> str:
    """Check a one-time code. A wrong one counts against the code (per address and in all), the phone
    from this address, and the address: committed even when refused."""
    try:
        return _login_parent(
            uow.session, phone=phone, code=code, address=address, secret=secret, now=now, ttl=ttl
        )
    finally:
        uow.commit()


def _login_parent(
    session: Session, *, phone: str, code: str, address: str, secret: bytes, now: datetime, ttl: timedelta
) -> str:
    canon = normalize_phone(phone) or phone.strip()[:20]
    bad = DomainError(AuthReason.OTP_INVALID, "wrong or expired code")
    rules = ((OTP_FAIL_PAIR, (canon, address)), (OTP_FAIL_ADDRESS, (address,)))
    wait = _otp_wait(session, rules, now)
    if wait:
        raise RateLimited(AuthReason.OTP_THROTTLED, "too many wrong codes; wait and retry", wait)
    otps = session.scalars(
        select(ParentOtp)
        .where(
            ParentOtp.phone == canon,
            ParentOtp.expires_at > now,
            ParentOtp.used.is_(False),
            ParentOtp.attempts < CODE_TRIES,
        )
        .order_by(ParentOtp.id.desc())
    ).all()
    key = code_key(secret)
    tried = []
    for otp in otps:
        per_address = CODE_ADDRESS.key(str(otp.id), address)
        if count(session, per_address, now, CODE_ADDRESS.window) >= CODE_TRIES_PER_ADDRESS:
            continue
        if code_matches(key, otp.code_hash, canon, code.strip()):
            otp.used = True
            # Several parent records may share a phone; the earliest record signs in.
            parent_id = session.scalar(
                select(Parent.id).where(Parent.phone == canon).order_by(Parent.id).limit(1)
            )
            if parent_id is None:
                break
            clear(session, OTP_FAIL_PAIR.key(canon, address))
            return open_session(session, kind="parent", subject_id=parent_id, now=now, ttl=ttl)
        tried.append((otp, per_address))
    for otp, per_address in tried:
        otp.attempts += 1
        record(session, CODE_ADDRESS, per_address, now)
    for rule, parts in rules:
        record(session, rule, rule.key(*parts), now)
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


# Built once (its construction would cost as much as running it): the session row with, for a parent,
# each linked child and its school.
_SESSION_AND_CHILDREN = (
    select(AuthSession.kind, AuthSession.subject_id, AuthSession.expires_at, Pupil.id, Pupil.school_id)
    .select_from(AuthSession)
    .outerjoin(
        Guardianship, (AuthSession.kind == "parent") & (Guardianship.parent_id == AuthSession.subject_id)
    )
    .outerjoin(Pupil, Pupil.id == Guardianship.pupil_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)


def live_parent_pupils() -> Select[int]:
    """The children `principal_for_token` gives the parent of a live session (bind `token_hash` and
    `now`), as a subquery: a statement can check the session and the scope in its own WHERE, in the
    same round trip. Empty for an unknown, expired or admin session."""
    return (
        select(Guardianship.pupil_id)
        .join(
            AuthSession, (AuthSession.kind == "parent") & (AuthSession.subject_id == Guardianship.parent_id)
        )
        .join(Pupil, Pupil.id == Guardianship.pupil_id)
        .where(
            AuthSession.token_hash == bindparam("token_hash"),
            AuthSession.expires_at > bindparam("now", type_=AuthSession.expires_at.type),
        )
    )


def principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    """The session's caller, read from the database every time (a signed-out or expired session is
    refused at once, on every process). A parent's session and children come in one round trip: the
    session row outer-joined to the parent's guardianships."""
    rows = session.execute(_SESSION_AND_CHILDREN, {"token_hash": token_hash(token)}).all()
    if not rows or rows[0].expires_at <= now:
        return None
    kind, subject_id = rows[0].kind, rows[0].subject_id
    if kind == "admin":
        admin = session.get(Admin, subject_id)
        if admin is None or not admin.active:
            return None
        return admin_principal(session, admin, now)
    if kind == "parent":
        children = [(r[3], r[4]) for r in rows if r[3] is not None]
        return Principal(
            kind="parent",
            id=subject_id,
            school_ids=frozenset(school for _, school in children),
            pupil_ids=frozenset(pupil for pupil, _ in children),
        )
    return None


def admin_principal(session: Session, admin: Admin, now: datetime | None = None) -> Principal:
    schools = set(session.scalars(select(AdminSchool.school_id).where(AdminSchool.admin_id == admin.id)))
    role = Role(admin.role)
    if role is Role.DISTRICT_ADMIN and admin.district:
        schools.update(session.scalars(select(School.id).where(School.district == admin.district)))
    if role is Role.SUPPLIER and admin.supplier_id is not None:
        day = local_date(now or SystemClock().now())
        schools.update(schools_of_supplier(session, admin.supplier_id, day))
    return Principal(
        kind="admin",
        id=admin.id,
        role=role,
        district=admin.district,
        school_ids=frozenset(schools),
        supplier_id=admin.supplier_id,
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
