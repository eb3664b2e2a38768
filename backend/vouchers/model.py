"""Voucher states and the rules between them. Pure: no I/O."""

from __future__ import annotations

import enum
from datetime import date

from backend.errors import DomainError
from backend.roster.grades import Plan

__all__ = ["Plan"]  # the voucher's plan, also what an eligibility category gives


class VoucherStatus(enum.StrEnum):
    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVE = "active"
    REFUSED = "refused"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class VoucherReason(enum.StrEnum):
    TRANSITION_NOT_ALLOWED = "TRANSITION_NOT_ALLOWED"
    NOT_ACTIVE = "VOUCHER_NOT_ACTIVE"
    SERIAL_EXHAUSTED = "SERIAL_EXHAUSTED"
    REASON_REQUIRED = "REASON_REQUIRED"
    PLAN_UNCHANGED = "PLAN_UNCHANGED"
    SCHOOL_ACTIVATION_OFF = "SCHOOL_ACTIVATION_OFF"
    PARENT_ACTIVATES = "PARENT_ACTIVATES"


S = VoucherStatus
_ALLOWED: dict[VoucherStatus, frozenset[VoucherStatus]] = {
    S.AWAITING_ACTIVATION: frozenset({S.ACTIVE, S.REFUSED, S.SUSPENDED, S.REVOKED, S.EXPIRED}),
    S.ACTIVE: frozenset({S.REFUSED, S.SUSPENDED, S.REVOKED, S.EXPIRED}),
    # A parent who refused may change their mind within the school year.
    S.REFUSED: frozenset({S.ACTIVE, S.REVOKED, S.EXPIRED}),
    # Eligibility regained restores the state held before the suspension.
    S.SUSPENDED: frozenset({S.AWAITING_ACTIVATION, S.ACTIVE, S.REVOKED, S.EXPIRED}),
    S.REVOKED: frozenset(),
    S.EXPIRED: frozenset(),
}

MAX_SERIAL = 0xFFFF  # the token's serial field is 16 bits


def check_transition(old: VoucherStatus, new: VoucherStatus) -> None:
    if new not in _ALLOWED[old]:
        raise DomainError(VoucherReason.TRANSITION_NOT_ALLOWED, f"a voucher {old} cannot become {new}")


def school_year_of(day: date) -> int:
    """The start year of the school year a date belongs to; June to August count toward the next one."""
    return day.year if day.month >= 6 else day.year - 1


def year_end(school_year: int, month: int, day: int) -> date:
    """Last valid day of a school year (May 31 by default, configurable)."""
    return date(school_year + 1, month, day)
