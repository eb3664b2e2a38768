"""Pure fleet rules: one-time enrolment codes, terminal status, health reports."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.errors import DomainError
from shared_crypto import VerifyKey

CODE_VALIDITY = timedelta(minutes=10)
# Crockford-like alphabet: no 0/O, 1/I/L confusion when read off a sheet.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_GROUPS = 3
CODE_GROUP_LEN = 4
MAX_FAULTS = 32
MAX_FAULT_LEN = 120
MAX_VERSION_LEN = 40
MAX_HOSTNAME_LEN = 100


class FleetReason(enum.StrEnum):
    """Stable reason codes of the fleet endpoints."""

    CODE_UNKNOWN = "CODE_UNKNOWN"
    CODE_EXPIRED = "CODE_EXPIRED"
    CODE_USED = "CODE_USED"
    BAD_PUBLIC_KEY = "BAD_PUBLIC_KEY"
    KEY_IN_USE = "KEY_IN_USE"  # the key belongs to a terminal that is still active
    NO_SUCH_TERMINAL = "NO_SUCH_TERMINAL"
    TERMINAL_RETIRED = "TERMINAL_RETIRED"
    BAD_HEALTH = "BAD_HEALTH"
    TOO_LARGE = "TOO_LARGE"  # a request body over its cap
    BAD_NONCE = "BAD_NONCE"
    NO_SUCH_SCHOOL = "NO_SUCH_SCHOOL"
    BAD_CANTEEN = "BAD_CANTEEN"  # canteen numbers are 1..999
    NO_SUCH_PUPIL = "NO_SUCH_PUPIL"
    BAD_UID = "BAD_UID"
    CARD_ALREADY_REGISTERED = "CARD_ALREADY_REGISTERED"
    # device authentication (401), beside shared_crypto's verification reasons
    NO_DEVICE_AUTH = "NO_DEVICE_AUTH"
    TERMINAL_MISMATCH = "TERMINAL_MISMATCH"  # token or batch names another terminal than its key's


class TerminalStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class FleetError(DomainError):
    def __init__(self, reason: FleetReason, detail: str) -> None:
        super().__init__(reason, detail)


def new_code() -> str:
    """A code a technician types: 3 groups of 4 from a 30-letter alphabet (~59 bits)."""
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LEN)) for _ in range(CODE_GROUPS)
    )
    return "-".join(groups)


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_digest(code: str) -> bytes:
    """Only this digest is stored, so a database read does not yield usable codes."""
    return hashlib.sha256(b"SW1-enrol\x00" + normalise_code(code).encode()).digest()


@dataclass(frozen=True, slots=True)
class EnrolmentCode:
    digest: bytes
    school_id: int
    canteen_id: int
    expires_at: datetime
    used_at: datetime | None


def check_code(code: EnrolmentCode | None, now: datetime) -> EnrolmentCode:
    if code is None:
        raise FleetError(FleetReason.CODE_UNKNOWN, "no such enrolment code")
    if code.used_at is not None:
        raise FleetError(FleetReason.CODE_USED, "this code was used already")
    if now >= code.expires_at:
        raise FleetError(FleetReason.CODE_EXPIRED, "the code is older than 10 minutes")
    return code


def same_code(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


@dataclass(frozen=True, slots=True)
class TerminalIdentity:
    """An authenticated, active terminal: who made this request."""

    terminal_id: int
    school_id: int
    canteen_id: int
    key: VerifyKey
    enrolled_at: datetime


@dataclass(frozen=True, slots=True)
class HealthReport:
    last_sync: int | None
    backlog: int
    clock_offset_s: float | None
    software_version: str
    faults: tuple[str, ...]
    disk_free_bytes: int


def _int(raw: dict[str, object], key: str, *, nullable: bool = False) -> int | None:
    v = raw.get(key)
    if v is None and nullable:
        return None
    if type(v) is not int or v < 0:
        raise FleetError(FleetReason.BAD_HEALTH, f"{key} is a non-negative integer")
    return v


def parse_health(raw: object) -> HealthReport:
    if not isinstance(raw, dict):
        raise FleetError(FleetReason.BAD_HEALTH, "health is a JSON object")
    offset = raw.get("clock_offset_s")
    if offset is not None and (type(offset) not in (int, float) or abs(offset) > 10**9):
        raise FleetError(FleetReason.BAD_HEALTH, "clock_offset_s is a number or null")
    version = raw.get("software_version")
    if not isinstance(version, str) or not 0 < len(version) <= MAX_VERSION_LEN:
        raise FleetError(FleetReason.BAD_HEALTH, f"software_version is 1–{MAX_VERSION_LEN} characters")
    faults = raw.get("faults", [])
    if (
        not isinstance(faults, list)
        or len(faults) > MAX_FAULTS
        or not all(isinstance(f, str) and len(f) <= MAX_FAULT_LEN for f in faults)
    ):
        raise FleetError(FleetReason.BAD_HEALTH, f"faults is a list of at most {MAX_FAULTS} short strings")
    backlog = _int(raw, "backlog")
    disk = _int(raw, "disk_free_bytes")
    assert backlog is not None and disk is not None  # not nullable
    return HealthReport(
        last_sync=_int(raw, "last_sync", nullable=True),
        backlog=backlog,
        clock_offset_s=None if offset is None else float(offset),
        software_version=version,
        faults=tuple(faults),
        disk_free_bytes=disk,
    )
