"""Pass rules: which windows a pass holds tokens for. Pure: no I/O.

Each meal slot of the coming school days is cut into windows of a fixed length from the slot's start;
a token is valid inside one window only (plus the terminal's leeway), so a screenshot or a forwarded
picture is good for that window at most, and the one-meal-per-slot rule bounds it to one meal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.calendar.model import SchoolCalendar
from backend.clock import KZ_TZ

LOOKAHEAD_DAYS = 60  # how far to look for the coming school days (holidays in between)


class PassReason(enum.StrEnum):
    LINK_USED = "PASS_LINK_USED"
    LINK_EXPIRED = "PASS_LINK_EXPIRED"
    REVOKED = "PASS_REVOKED"


@dataclass(frozen=True, slots=True)
class SlotTimes:
    day: date
    slot: int
    start: int  # unix seconds
    end: int


@dataclass(frozen=True, slots=True)
class Window:
    slot: int
    nbf: int
    exp: int


def coming_slots(cal: SchoolCalendar, now: datetime, *, school_days: int) -> list[SlotTimes]:
    """The slots of the next `school_days` school days (today counts while a slot is still to end)."""
    out: list[SlotTimes] = []
    today = now.astimezone(KZ_TZ).date()
    stamp = int(now.timestamp())
    days = 0
    for i in range(LOOKAHEAD_DAYS):
        day = today + timedelta(days=i)
        served = cal.slots_on(day)
        found = [
            SlotTimes(
                day,
                s.slot,
                int(datetime.combine(day, s.start, KZ_TZ).timestamp()),
                int(datetime.combine(day, s.end, KZ_TZ).timestamp()),
            )
            for s in cal.slots
            if s.slot in served
        ]
        found = [s for s in found if s.end > stamp]
        if found:
            out.extend(found)
            days += 1
            if days >= school_days:
                break
    return out


def windows(slots: list[SlotTimes], now: datetime, *, window_seconds: int) -> list[Window]:
    """Each slot cut into windows from its start; windows already over are left out."""
    if window_seconds <= 0:
        raise ValueError("a window lasts at least a second")
    stamp = int(now.timestamp())
    out = []
    for s in slots:
        start = s.start
        while start < s.end:
            end = min(start + window_seconds, s.end)
            if end > stamp:
                out.append(Window(s.slot, start, end))
            start = end
    return out
