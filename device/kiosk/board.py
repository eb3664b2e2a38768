"""What the canteen staff's screen shows, held in memory: the last verdict, the last ten decisions,
today's meals per slot and the terminal's status. Pure: no I/O; the terminal feeds it, the kiosk
server reads it.

A decision reaches the board inside `Terminal.present_*`, after the journal commit and before the
call returns; `wait` wakes every waiting reader at once, so the screen follows within milliseconds.
Each change bumps `version`; readers send the whole snapshot (a few kB), never a diff, so a screen
that missed an event is right again with the next one.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from shared_crypto import Calendar

RECENT = 10


@dataclass(frozen=True, slots=True)
class Shown:
    """One decision as the staff see it. `price_tiyn`: the bundle's tariff for the meal's plan and
    slot that day (None when the bundle carries none, or for a refusal); `family_tiyn`: the family's
    share of it (0 when the state pays it all, None with no price)."""

    seq: int | None
    at_ms: int
    method: str  # "qr" or "card"
    served: bool
    reason: str | None
    display: str
    plan: int | None
    price_tiyn: int | None
    family_tiyn: int | None
    slot: int | None
    day: int | None
    repeat: bool = False


@dataclass(frozen=True, slots=True)
class SlotTimes:
    slot: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class Status:
    """The terminal's state the screen shows beside the verdicts; the terminal's timer refreshes it."""

    now_ms: int
    standing: str
    faults: tuple[str, ...] = ()
    clock: str = "UNKNOWN"
    online: bool | None = None  # None: no sync tried yet
    last_contact_ms: int | None = None
    backlog: int = 0  # journal records not yet uploaded
    allowlist_generated_ms: int | None = None
    allowlist_valid_until_ms: int | None = None
    allowlist_stale_until_ms: int | None = None  # past this the terminal refuses ALLOWLIST_EXPIRED
    utc_offset_minutes: int = 300
    today: int | None = None
    slots: tuple[SlotTimes, ...] = ()  # today's meal slots
    current_slot: int | None = None


def priced(
    cal: Calendar | None, served: bool, plan: int | None, slot: int | None, day: int | None
) -> tuple[int | None, int | None]:
    """(price, the family's share) in tiyn from the bundle's tariffs for a served meal's plan and slot on
    its day; (None, None) for a refusal, without a bundle or without a tariff."""
    if cal is None or not served or plan is None or slot is None or day is None:
        return None, None
    price = cal.price(day, plan, slot)
    return (None, None) if price is None else price


@dataclass
class _State:
    version: int = 0
    last: Shown | None = None
    recent: deque[Shown] = field(default_factory=lambda: deque(maxlen=RECENT))
    counts: dict[int, int] = field(default_factory=dict)  # slot → meals served today
    counted_day: int | None = None
    status: Status | None = None


class Board:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._s = _State()

    @property
    def version(self) -> int:
        with self._cond:
            return self._s.version

    def load(self, recent: list[Shown]) -> None:
        """The last decisions the journal holds at start-up (a restart must not blank the screen)."""
        with self._cond:
            self._s.recent.clear()
            self._s.recent.extend(recent[-RECENT:])
            self._s.last = recent[-1] if recent else None
            self._bump()

    def decided(self, shown: Shown) -> None:
        """A decision just journaled (or a re-shown one: it is shown again, not counted again)."""
        with self._cond:
            self._s.last = shown
            if not shown.repeat and shown.seq is not None:
                self._s.recent.append(shown)
                if shown.served and shown.slot is not None and shown.day == self._s.counted_day:
                    self._s.counts[shown.slot] = self._s.counts.get(shown.slot, 0) + 1
            self._bump()

    def counting_day(self) -> int | None:
        with self._cond:
            return self._s.counted_day

    def new_day(self, day: int | None, counts: dict[int, int]) -> None:
        with self._cond:
            self._s.counted_day, self._s.counts = day, dict(counts)
            self._bump()

    def set_status(self, status: Status) -> None:
        """Bumps the version only when something the screen shows changed (not the clock alone)."""
        with self._cond:
            old = self._s.status
            self._s.status = status
            if old is None or replace(old, now_ms=0) != replace(status, now_ms=0):
                self._bump()

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            s = self._s
            return {
                "version": s.version,
                "last": None if s.last is None else asdict(s.last),
                "recent": [asdict(x) for x in reversed(s.recent)],  # newest first
                "counts": {"day": s.counted_day, "by_slot": {str(k): v for k, v in sorted(s.counts.items())}},
                "status": None if s.status is None else asdict(s.status),
            }

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the version differs from `seen` (or the timeout passes); the version now."""
        with self._cond:
            self._cond.wait_for(lambda: self._s.version != seen, timeout)
            return self._s.version

    def _bump(self) -> None:
        self._s.version += 1
        self._cond.notify_all()
