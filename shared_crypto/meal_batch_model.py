"""A meal-event batch's data: what a terminal records and uploads (signed and read in meal_batch)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# C_TERMINAL and C_EVENTS: the claims' keys beside iat; E_*: an event's map keys
MAX_BATCH = 4 * 1024 * 1024
MAX_EVENTS = 10_000
EVENT_ID_LEN = 16
BOOT_ID_LEN = 16
MAX_REASON = 32
MAX_DAY = 99991231  # an event's service day, yyyymmdd
C_TERMINAL = -80
C_EVENTS = -82
# Event map keys, small integers to keep 60,000 events a month cheap to carry.
E_ID, E_SEQ, E_BOOT, E_MONO_MS, E_WALL_MS, E_WALL_TRUSTED = 0, 1, 2, 3, 4, 5
E_SERVED, E_REASON, E_METHOD, E_VOUCHER, E_SERIAL, E_SLOT, E_DAY = 6, 7, 8, 9, 10, 11, 12


class Method(enum.IntEnum):
    QR = 1
    CARD = 2


@dataclass(frozen=True, slots=True)
class MealEvent:
    event_id: bytes
    seq: int  # per-terminal, strictly rising
    boot_id: bytes
    mono_ms: int  # monotonic clock since boot
    wall_ms: int  # wall clock, unix milliseconds
    wall_trusted: bool
    served: bool
    reason: str  # "SERVED" or the refusal's reason code
    method: Method
    voucher_id: int | None  # None when the input named no voucher (unreadable QR, unknown card)
    token_serial: int | None
    slot: int | None
    day: int | None  # yyyymmdd of the service day, local time


@dataclass(frozen=True, slots=True)
class MealBatch:
    terminal_id: int
    created_at: int
    events: tuple[MealEvent, ...]
