"""Pure calendar rules: which local dates are school days, which slots run then, which tariff is in force.

Money is integer tiyn (1 tenge = 100 tiyn) everywhere; no floats touch an amount.
"""

from __future__ import annotations

import enum
import itertools
import re
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
    BAD_TARIFF = "BAD_TARIFF"  # state share below 0 or above the amount, unknown plan or slot
    TARIFF_NOT_POSITIVE = "TARIFF_NOT_POSITIVE"  # a meal priced at zero or less
    TARIFF_BAD_AMOUNT = "TARIFF_BAD_AMOUNT"  # an amount typed in tenge that is not a number of tenge
    TARIFF_OVERLAPS = "TARIFF_OVERLAPS"  # a period for the same school, plan and slot starts that day
    DEFAULT_TARIFF_NATIONAL = (
        "DEFAULT_TARIFF_NATIONAL"  # the default tariffs are the operator's, not a district's
    )
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


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    """A tariff row with the last day it is in force: the day before the next row of the same school,
    plan and slot starts (None while no later row exists). Periods of one key never overlap."""

    tariff: Tariff
    valid_to: date | None


def tariff_periods(tariffs: Iterable[Tariff]) -> list[TariffPeriod]:
    """Every row as a period, ordered by school (defaults first), plan, slot and first day."""
    ordered = sorted(tariffs, key=lambda t: (t.school_id or 0, t.plan, t.slot, t.valid_from))
    out: list[TariffPeriod] = []
    for i, t in enumerate(ordered):
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        same = nxt is not None and (nxt.school_id, nxt.plan, nxt.slot) == (t.school_id, t.plan, t.slot)
        out.append(TariffPeriod(t, nxt.valid_from - timedelta(days=1) if same and nxt else None))
    return out


def check_new_period(existing: Iterable[Tariff], new: Tariff) -> None:
    """A new period begins where the one in force ends: a second period of the same school, plan and
    slot that starts on the same day would cover the same days as the first, so it is refused (the
    price of a day is never replaced silently; a correction is a new period from a later day). Checked
    on new rows only, so a stored row from before the rule still loads."""
    if new.amount_tiyn <= 0:
        # billing never prices a meal at zero (NO_TARIFF instead), so a zero row would hide a missing price
        raise CalendarError(CalendarReason.TARIFF_NOT_POSITIVE, "a meal's price is above zero")
    for t in existing:
        if (t.school_id, t.plan, t.slot, t.valid_from) == (new.school_id, new.plan, new.slot, new.valid_from):
            raise CalendarError(
                CalendarReason.TARIFF_OVERLAPS,
                f"a period for plan {new.plan} slot {new.slot} starts on {new.valid_from} already",
            )


_TENGE = re.compile(r"(\d{1,9})(?:[.,](\d{1,2}))?")


def tiyn_of(text: str) -> int:
    """'900', '900.5', '900,50' tenge (as people type them) → integer tiyn; no floats touch it."""
    m = _TENGE.fullmatch(text.strip().replace(" ", "").replace("\u00a0", ""))
    if m is None:
        raise CalendarError(CalendarReason.TARIFF_BAD_AMOUNT, f"{text[:20]!r} is not an amount in tenge")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


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
