"""The terminal core's small interfaces to its hardware and clock, and the verdict types it hands back.

The real drivers live in `device.hw`, their simulated twins in `device.sim`. IndicatorState and CardRead
are defined next to the drivers that produce them and re-exported here, so the core names one place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shared_crypto import Reason

from .hw.indicator import IndicatorState
from .hw.nfc import CardRead

if TYPE_CHECKING:  # numpy costs 0.1 s at start-up, and only the camera path needs it at run time
    import numpy as np
    import numpy.typing as npt

    Frame = npt.NDArray[np.uint8]

__all__ = [
    "CardRead",
    "CardReader",
    "Clock",
    "Decision",
    "DeviceReason",
    "FrameSource",
    "Indicator",
    "IndicatorState",
    "QrDecoder",
    "Verdict",
]


class FrameSource(Protocol):
    """A camera: `read()` blocks until the next 2-D uint8 grayscale frame."""

    def read(self) -> Frame: ...


class QrDecoder(Protocol):
    """Every QR symbol's exact payload bytes in one frame (empty list: none found)."""

    def decode_bytes(self, frame: Frame) -> list[bytes]: ...


class CardReader(Protocol):
    """A newly tapped card (UID plus the NDEF card credential if it carries one), or None."""

    def poll(self) -> CardRead | None: ...


class Indicator(Protocol):
    """LED and buzzer. SERVED and REFUSED play once and fall back to the standing state (IDLE,
    WARNING or FAULT), which `show` of a standing state sets. `state` is what is showing now."""

    state: IndicatorState

    def show(self, state: IndicatorState) -> None: ...


class Clock(Protocol):
    """Raw time sources; `device.clock.TrustedClock` decides what of it to believe."""

    def wall(self) -> float:
        """The system's wall clock, unix seconds (may be unset, or wrong after a boot without RTC)."""
        ...

    def monotonic_ns(self) -> int:
        """Nanoseconds since boot; never goes back within one boot."""
        ...

    def boot_id(self) -> bytes:
        """16 bytes naming this boot; a new value means the monotonic clock restarted."""
        ...


class Decision(enum.StrEnum):
    SERVE = "SERVE"
    REFUSE = "REFUSE"


class DeviceReason(enum.StrEnum):
    """Why a terminal refused. Values are journaled and uploaded: never rename one.

    The first group repeats shared_crypto.Reason value for value (a rejected signed object), the
    second is the terminal's own rules."""

    MALFORMED = Reason.MALFORMED.value
    TOO_LARGE = Reason.TOO_LARGE.value
    UNSUPPORTED_ALG = Reason.UNSUPPORTED_ALG.value
    HEADER_CONFLICT = Reason.HEADER_CONFLICT.value
    UNKNOWN_KID = Reason.UNKNOWN_KID.value
    WRONG_KEY_ROLE = Reason.WRONG_KEY_ROLE.value
    KEY_NOT_VALID = Reason.KEY_NOT_VALID.value
    BAD_SIGNATURE = Reason.BAD_SIGNATURE.value
    NOT_YET_VALID = Reason.NOT_YET_VALID.value
    EXPIRED = Reason.EXPIRED.value
    WRONG_SCHOOL = Reason.WRONG_SCHOOL.value
    SUPERSEDED = Reason.SUPERSEDED.value
    REVOKED = Reason.REVOKED.value
    ROLLBACK = Reason.ROLLBACK.value
    CARD_MISMATCH = Reason.CARD_MISMATCH.value

    NOT_IN_ALLOWLIST = "NOT_IN_ALLOWLIST"  # a valid token or card credential for a voucher not listed
    VOUCHER_NOT_ACTIVE = "VOUCHER_NOT_ACTIVE"  # listed, but suspended or revoked
    ALREADY_SERVED = "ALREADY_SERVED"  # this voucher ate in this slot today
    NO_MEAL_SLOT_NOW = "NO_MEAL_SLOT_NOW"  # a school day, but outside every meal slot
    SCHOOL_HOLIDAY = "SCHOOL_HOLIDAY"  # today is not in the allowlist's calendar
    CARD_UNKNOWN = "CARD_UNKNOWN"  # no credential on the card and its UID hash is not registered
    CLOCK_UNKNOWN = "CLOCK_UNKNOWN"  # no trusted time, or the wall clock went back past it
    NO_ALLOWLIST = "NO_ALLOWLIST"  # none installed yet
    ALLOWLIST_EXPIRED = "ALLOWLIST_EXPIRED"  # past valid_until plus the configured grace
    STORAGE_FULL = "STORAGE_FULL"  # the journal cannot take another record: nothing may be served
    JOURNAL_FAULT = "JOURNAL_FAULT"  # the journal failed otherwise (I/O error, corruption)

    @classmethod
    def of(cls, reason: Reason) -> DeviceReason:
        return cls(reason.value)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the engine decided and what canteen staff see. `seq`/`event_id` name the journal record
    (None only when the journal could not take it); `repeat` marks a re-shown code within the window."""

    decision: Decision
    reason: DeviceReason | None  # None exactly when served
    display: str  # pupil's display string from the allowlist, "" when the input named nobody
    plan: int | None
    voucher_id: int | None
    slot: int | None
    day: int | None
    seq: int | None
    event_id: bytes | None
    repeat: bool = False

    @property
    def served(self) -> bool:
        return self.decision is Decision.SERVE
