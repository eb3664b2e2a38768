"""Who is calling: roles and principals. Pure: no I/O."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Literal


class Role(enum.StrEnum):
    DISTRICT_ADMIN = "district_admin"
    SCHOOL_HEAD = "school_head"
    SOCIAL_PEDAGOGUE = "social_pedagogue"
    SUPPLIER = "supplier"
    TECHNICIAN = "technician"
    CANTEEN_STAFF = "canteen_staff"


class AuthReason(enum.StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    BAD_CREDENTIALS = "BAD_CREDENTIALS"
    LOGIN_THROTTLED = "LOGIN_THROTTLED"  # cooling down after wrong passwords (Retry-After)
    LOGIN_BUSY = "LOGIN_BUSY"  # every password-hashing slot is taken; retry in a moment
    FORBIDDEN = "FORBIDDEN"
    OTP_INVALID = "OTP_INVALID"
    OTP_RATE_LIMITED = "OTP_RATE_LIMITED"  # too many codes requested (Retry-After)
    OTP_THROTTLED = "OTP_THROTTLED"  # cooling down after wrong codes (Retry-After)
    PHONE_INVALID = "PHONE_INVALID"
    NOT_A_PARENT = "NOT_A_PARENT"  # eGov vouched for an IIN no parent record holds
    DISTRICT_REQUIRED = "DISTRICT_REQUIRED"  # a district admin account names its district
    TOTP_REQUIRED = "TOTP_REQUIRED"  # the account has a second factor: a current authenticator code
    TOTP_INVALID = "TOTP_INVALID"
    BAD_LOGIN = "BAD_LOGIN"  # a new account's login: 3–60 of a-z, 0-9, dot, dash, underscore
    LOGIN_TAKEN = "LOGIN_TAKEN"
    SCHOOL_REQUIRED = "SCHOOL_REQUIRED"  # a school role names at least one school of the district
    SUPPLIER_REQUIRED = "SUPPLIER_REQUIRED"  # a supplier's account names its supplier
    SELF_DEACTIVATION = "SELF_DEACTIVATION"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. For a district admin `school_ids` is every school of the district;
    for a parent it is the schools of the linked children (`pupil_ids`)."""

    kind: Literal["admin", "parent", "terminal"]
    id: int
    role: Role | None = None
    district: str | None = None
    school_ids: frozenset[int] = frozenset()
    pupil_ids: frozenset[int] = field(default_factory=frozenset)
    supplier_id: int | None = None  # a supplier's account: the supplier it acts for

    @property
    def parent_id(self) -> int:
        if self.kind != "parent":
            raise ValueError("not a parent principal")
        return self.id


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """Sessions are stored by hash, so a database leak does not hand out live tokens."""
    return hashlib.sha256(token.encode()).digest()
