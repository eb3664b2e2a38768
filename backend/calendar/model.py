"""Pure calendar rules: which local dates are school days, which slots run then, which tariff is in force.

Money is integer tiyn (1 tenge = 100 tiyn) everywhere; no floats touch an amount.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from backend.errors import DomainError
from shared_crypto import Calendar, MealSlot

KZ_UTC_OFFSET_MINUTES = 300
WEEKDAYS_MON_FRI = frozenset(range(5))
MAX_SLOTS = 8


class CalendarReason(enum.StrEnum):
    BAD_SLOT = "BAD_SLOT"  # slot number out of 1..8 or end not after start
    OVERLAPPING_SLOTS = "OVERLAPPING_SLOTS"
    BAD_TARIFF = "BAD_TARIFF"  # negative amount, state share above the amount, unknown plan
    BAD_WEEKDAYS = "BAD_WEEKDAYS"
    UNKNOWN_SLOT = "UNKNOWN_SLOT"  # a day names a slot the school does not have
    BAD_RANGE = "BAD_RANGE"  # a calendar view of too many days


class CalendarError(DomainError):
    def __init__(self, reason: CalendarReason, detail: str) -> None:
        super().__init__(reason, detail)


@dataclass(frozen=True, slots=True)
class SlotTime:
    slot: int
    start: time  # local, inclusive
    end: time  # local, exclusive

    def __post_init__(self) -> None:
        if not 1 <= self.slot <= MAX_SLOTS or self.end <= self.start:
            raise CalendarError(CalendarReason.BAD_SLOT, f"slot {self.slot} {self.start}–{self.end}")

    @property
    def start_minute(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        return self.end.hour * 60 + self.end.minute

    def contains(self, t: time) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class DayRule:
    """An explicit calendar row: a holiday (no slots) or an extra/changed school day (its slots)."""

    day: date
    school_day: bool
    slots: tuple[int, ...] | None = None  # None: all the school's slots
    note: str = ""


def check_slots(slots: Sequence[SlotTime]) -> tuple[SlotTime, ...]:
    ordered = tuple(sorted(slots, key=lambda s: s.start))
    if len({s.slot for s in ordered}) != len(ordered):
        raise CalendarError(CalendarReason.BAD_SLOT, "a slot number appears twice")
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise CalendarError(CalendarReason.OVERLAPPING_SLOTS, f"slots {a.slot} and {b.slot} overlap")
    return ordered


def check_weekdays(weekdays: Iterable[int]) -> frozenset[int]:
    days = frozenset(weekdays)
    if not days <= set(range(7)):
        raise CalendarError(CalendarReason.BAD_WEEKDAYS, "weekdays are 0 (Monday) … 6 (Sunday)")
    return days


@dataclass(frozen=True, slots=True)
class SchoolCalendar:
    """One school's calendar. `rules` are already merged: a school's own row beats its district's."""

    school_id: int
    weekdays: frozenset[int]
    slots: tuple[SlotTime, ...]
    rules: Mapping[date, DayRule] = field(default_factory=dict)

    def slots_on(self, day: date) -> tuple[int, ...]:
        """Slot numbers served on `day`; empty on a non-school day."""
        rule = self.rules.get(day)
        if rule is not None:
            if not rule.school_day:
                return ()
            if rule.slots is not None:
                return tuple(s for s in rule.slots if any(x.slot == s for x in self.slots))
            return tuple(s.slot for s in self.slots)
        if day.weekday() in self.weekdays:
            return tuple(s.slot for s in self.slots)
        return ()

    def is_school_day(self, day: date) -> bool:
        return bool(self.slots_on(day))

    def slot_at(self, local: datetime) -> int | None:
        """The slot running at a local wall time on a school day, if any."""
        running = self.slots_on(local.date())
        for s in self.slots:
            if s.slot in running and s.contains(local.time()):
                return s.slot
        return None

    def school_days(self, first: date, last: date) -> list[date]:
        out = []
        d = first
        while d <= last:
            if self.is_school_day(d):
                out.append(d)
            d += timedelta(days=1)
        return out

    def to_bundle(self, first: date, days: int) -> Calendar:
        """The terminal's view: slots and the school days of `days` days from `first` (yyyymmdd keys)."""
        served = {}
        for i in range(days):
            d = first + timedelta(days=i)
            slots = self.slots_on(d)
            if slots:
                served[d.year * 10000 + d.month * 100 + d.day] = slots
        return Calendar(
            utc_offset_minutes=KZ_UTC_OFFSET_MINUTES,
            slots=tuple(MealSlot(s.slot, s.start_minute, s.end_minute) for s in self.slots),
            days=served,
        )


def merge_rules(district_rules: Iterable[DayRule], school_rules: Iterable[DayRule]) -> dict[date, DayRule]:
    merged = {r.day: r for r in district_rules}
    merged.update({r.day: r for r in school_rules})
    return merged


@dataclass(frozen=True, slots=True)
class Tariff:
    """Price of one meal for a plan and slot from `valid_from` on. `school_id=None` is the default."""

    school_id: int | None
    plan: int
    slot: int
    valid_from: date
    amount_tiyn: int
    state_share_tiyn: int  # what the state pays; the family pays the rest on the discounted plan

    def __post_init__(self) -> None:
        if self.plan not in (1, 2):
            raise CalendarError(CalendarReason.BAD_TARIFF, "plan is 1 (free) or 2 (discounted)")
        if not 1 <= self.slot <= MAX_SLOTS:
            raise CalendarError(CalendarReason.BAD_TARIFF, f"slot {self.slot} out of 1..{MAX_SLOTS}")
        if type(self.amount_tiyn) is not int or type(self.state_share_tiyn) is not int:
            raise CalendarError(CalendarReason.BAD_TARIFF, "amounts are integer tiyn")
        if not 0 <= self.state_share_tiyn <= self.amount_tiyn:
            raise CalendarError(CalendarReason.BAD_TARIFF, "0 ≤ state share ≤ amount")
        if self.plan == 1 and self.state_share_tiyn != self.amount_tiyn:
            raise CalendarError(CalendarReason.BAD_TARIFF, "on the free plan the state pays the whole tariff")

    @property
    def family_share_tiyn(self) -> int:
        return self.amount_tiyn - self.state_share_tiyn


def tariff_in_force(
    tariffs: Iterable[Tariff], *, school_id: int, plan: int, slot: int, day: date
) -> Tariff | None:
    """The school's own latest tariff with valid_from ≤ day; failing that, the default's."""
    best: dict[bool, Tariff] = {}
    for t in tariffs:
        if t.plan != plan or t.slot != slot or t.valid_from > day:
            continue
        if t.school_id is not None and t.school_id != school_id:
            continue
        own = t.school_id is not None
        cur = best.get(own)
        if cur is None or t.valid_from > cur.valid_from:
            best[own] = t
    return best.get(True) or best.get(False)
