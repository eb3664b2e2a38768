"""Staff accounts, kept by the district admin: create, deactivate, reactivate, reset the password, and
each district admin's own TOTP second factor. The first district admin comes from the command line.

A new or reset account gets a random temporary password, shown once to the admin who made it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from backend.errors import DomainError, not_found
from backend.roster.suppliers import supplier_of_district
from backend.roster.tables import School, Supplier
from backend.throttle.store import clear
from backend.unit_of_work import UnitOfWork

from .limits import LOGIN_ACCOUNT
from .model import AuthReason, Principal, Role
from .passwords import hash_password, new_totp_secret, totp_matches
from .services import create_admin
from .tables import Admin, AdminSchool, AuthSession

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")
SCHOOL_ROLES = frozenset({Role.SCHOOL_HEAD, Role.SOCIAL_PEDAGOGUE, Role.TECHNICIAN, Role.CANTEEN_STAFF})
PAGE = 50


def temporary_password() -> str:
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class NewAccount:
    admin_id: int
    login: str
    password: str  # shown once


def _require_district(by: Principal) -> str:
    if by.role is not Role.DISTRICT_ADMIN or not by.district:
        raise DomainError(AuthReason.FORBIDDEN, "only a district admin keeps accounts")
    return by.district


def create_account(
    uow: UnitOfWork,
    by: Principal,
    *,
    login: str,
    role: Role,
    school_ids: Sequence[int] = (),
    supplier_id: int | None = None,
    now: datetime,
) -> NewAccount:
    """A staff account in the caller's district: school roles name schools of the district, a
    supplier's account its supplier (its schools follow the supplier's links), a district admin none."""
    session = uow.session
    district = _require_district(by)
    login = login.strip().lower()
    if not LOGIN_RE.match(login):
        raise DomainError(AuthReason.BAD_LOGIN, "3–60 characters: a-z, 0-9, dot, dash, underscore")
    if session.scalar(select(Admin.id).where(Admin.login == login)) is not None:
        raise DomainError(AuthReason.LOGIN_TAKEN, "an account with this login exists")
    schools = sorted(set(school_ids))
    if role in SCHOOL_ROLES:
        if not schools:
            raise DomainError(AuthReason.SCHOOL_REQUIRED, "choose the account's school")
        if not set(schools) <= by.school_ids:
            raise not_found("school")
    else:
        schools = []
    if role is Role.SUPPLIER:
        if supplier_id is None:
            raise DomainError(AuthReason.SUPPLIER_REQUIRED, "choose the supplier the account acts for")
        supplier_of_district(session, district, supplier_id)
    else:
        supplier_id = None
    password = temporary_password()
    admin = create_admin(
        session,
        login=login,
        password=password,
        role=role,
        district=district if role is Role.DISTRICT_ADMIN else None,
        school_ids=tuple(schools),
    )
    admin.supplier_id, admin.created_by = supplier_id, by.id
    uow.commit()
    return NewAccount(admin.id, login, password)


def _in_scope(by: Principal) -> list[ColumnElement[bool]]:
    district = _require_district(by)
    of_schools = select(AdminSchool.admin_id).where(AdminSchool.school_id.in_(sorted(by.school_ids)))
    suppliers = select(Supplier.id).where(Supplier.district == district)
    return [
        or_(
            Admin.district == district,
            Admin.id.in_(of_schools),
            Admin.supplier_id.in_(suppliers),
            Admin.created_by == by.id,
        )
    ]


def account_in_scope(session: Session, by: Principal, admin_id: int) -> Admin:
    admin = session.scalar(select(Admin).where(Admin.id == admin_id, *_in_scope(by)))
    if admin is None:
        raise not_found("account")
    return admin


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    login: str
    role: str
    active: bool
    totp: bool
    schools: str
    supplier: str | None


@dataclass(frozen=True, slots=True)
class AccountPage:
    rows: list[AccountRow]
    total: int
    page: int
    pages: int


def accounts(
    session: Session, by: Principal, *, query: str = "", role: str = "", page: int = 1
) -> AccountPage:
    """The district's accounts, filtered and paged in the database."""
    conds = _in_scope(by)
    if query.strip():
        conds.append(Admin.login.contains(query.strip().lower(), autoescape=True))
    if role:
        conds.append(Admin.role == role)
    total = session.scalar(select(func.count()).select_from(Admin).where(*conds)) or 0
    pages = max(1, -(-total // PAGE))
    page = min(max(1, page), pages)
    admins = list(
        session.scalars(
            select(Admin).where(*conds).order_by(Admin.login).offset((page - 1) * PAGE).limit(PAGE)
        )
    )
    ids = [a.id for a in admins]
    names: dict[int, list[str]] = {}
    for admin_id, name in session.execute(
        select(AdminSchool.admin_id, School.name)
        .join(School, School.id == AdminSchool.school_id)
        .where(AdminSchool.admin_id.in_(ids))
        .order_by(School.name)
    ):
        names.setdefault(admin_id, []).append(name)
    supplier_ids = {a.supplier_id for a in admins if a.supplier_id is not None}
    supplier_names = {
        sid: name
        for sid, name in session.execute(
            select(Supplier.id, Supplier.name).where(Supplier.id.in_(supplier_ids))
        )
    }
    rows = [
        AccountRow(
            a.id,
            a.login,
            a.role,
            a.active,
            a.totp_secret is not None,
            ", ".join(names.get(a.id, [])),
            supplier_names.get(a.supplier_id) if a.supplier_id is not None else None,
        )
        for a in admins
    ]
    return AccountPage(rows, total, page, pages)


def _end_sessions(session: Session, admin_id: int) -> None:
    session.execute(
        delete(AuthSession).where(AuthSession.kind == "admin", AuthSession.subject_id == admin_id)
    )


def set_active(uow: UnitOfWork, by: Principal, admin_id: int, *, active: bool) -> Admin:
    """Deactivating ends the account's sessions at once; it can be reactivated later."""
    admin = account_in_scope(uow.session, by, admin_id)
    if admin.id == by.id and not active:
        raise DomainError(AuthReason.SELF_DEACTIVATION, "you cannot deactivate your own account")
    admin.active = active
    if not active:
        _end_sessions(uow.session, admin.id)
    uow.commit()
    return admin


def reset_password(uow: UnitOfWork, by: Principal, admin_id: int) -> NewAccount:
    """A new temporary password; the sign-in cool-down, the sessions and the second factor go (a lost
    phone)."""
    admin = account_in_scope(uow.session, by, admin_id)
    password = temporary_password()
    admin.password_hash = hash_password(password)
    admin.totp_secret = None
    clear(uow.session, LOGIN_ACCOUNT.key(admin.login.casefold()))
    _end_sessions(uow.session, admin.id)
    uow.commit()
    return NewAccount(admin.id, admin.login, password)


def login_of(session: Session, admin_id: int) -> str:
    login = session.scalar(select(Admin.login).where(Admin.id == admin_id))
    if login is None:
        raise not_found("account")
    return login


def has_totp(session: Session, principal: Principal) -> bool:
    return session.scalar(select(Admin.totp_secret).where(Admin.id == principal.id)) is not None


def start_totp() -> str:
    """A fresh secret for the authenticator app; stored only once a code from it is confirmed."""
    return new_totp_secret()


def confirm_totp(uow: UnitOfWork, principal: Principal, secret: str, code: str, now: datetime) -> None:
    if principal.role is not Role.DISTRICT_ADMIN:
        raise DomainError(AuthReason.FORBIDDEN, "the second factor is for district admins")
    if not totp_matches(secret, code, now):
        raise DomainError(AuthReason.TOTP_INVALID, "the code does not match; check the phone's time")
    admin = uow.session.get(Admin, principal.id)
    if admin is None:
        raise not_found("account")
    admin.totp_secret = secret
    uow.commit()


def remove_totp(uow: UnitOfWork, principal: Principal, code: str, now: datetime) -> None:
    admin = uow.session.get(Admin, principal.id)
    if admin is None or admin.totp_secret is None:
        raise not_found("second factor")
    if not totp_matches(admin.totp_secret, code, now):
        raise DomainError(AuthReason.TOTP_INVALID, "the code does not match")
    admin.totp_secret = None
    uow.commit()


def first_admin(uow: UnitOfWork, *, login: str, password: str, district: str) -> Admin:
    """The command line's first district admin on a fresh database (a second call is refused)."""
    session = uow.session
    login = login.strip().lower()
    if not LOGIN_RE.match(login):
        raise DomainError(AuthReason.BAD_LOGIN, "3–60 characters: a-z, 0-9, dot, dash, underscore")
    if session.scalar(select(Admin.id).where(Admin.login == login)) is not None:
        raise DomainError(AuthReason.LOGIN_TAKEN, "an account with this login exists")
    admin = create_admin(session, login=login, password=password, role=Role.DISTRICT_ADMIN, district=district)
    uow.commit()
    return admin
