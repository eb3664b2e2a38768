"""Which windows a pass holds tokens for: the slots of the coming school days (holidays skipped, today
while a slot is still to end), each cut into fixed windows from its start, windows already over left out."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from backend.calendar.model import DayRule, SchoolCalendar, SlotTime
from backend.clock import KZ_TZ
from backend.passes.model import coming_slots, windows

CAL = SchoolCalendar(
    school_id=1,
    weekdays=frozenset({0, 1, 2, 3, 4}),
    slots=(SlotTime(1, time(8, 30), time(10, 0)), SlotTime(2, time(12, 30), time(14, 0))),
    rules={date(2026, 12, 16): DayRule(date(2026, 12, 16), school_day=False, note="Independence Day")},
)


def at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=KZ_TZ)


def test_school_days_skip_weekends_and_holidays() -> None:
    slots = coming_slots(CAL, at("2026-12-14", "15:00"), school_days=3)  # Monday after the last slot
    assert sorted({s.day for s in slots}) == [date(2026, 12, 15), date(2026, 12, 17), date(2026, 12, 18)]
    assert [s.slot for s in slots] == [1, 2] * 3


def test_today_counts_while_a_slot_is_still_to_end() -> None:
    slots = coming_slots(CAL, at("2026-12-15", "13:59"), school_days=1)
    assert [(s.day, s.slot) for s in slots] == [(date(2026, 12, 15), 2)]
    friday = coming_slots(CAL, at("2026-12-18", "14:00"), school_days=1)
    assert [s.day for s in friday] == [date(2026, 12, 21)] * 2  # next Monday


def test_windows_cut_from_the_slot_start_and_past_ones_left_out() -> None:
    now = at("2026-12-15", "08:41")
    slots = coming_slots(CAL, now, school_days=1)
    ws = windows(slots, now, window_seconds=300)
    breakfast = [w for w in ws if w.slot == 1]
    assert breakfast[0].nbf == int(at("2026-12-15", "08:40").timestamp())  # the window now running
    assert len(breakfast) == 18 - 2  # 90 minutes of 5-minute windows, two over
    assert all(w.exp - w.nbf == 300 for w in ws)
    assert len([w for w in ws if w.slot == 2]) == 18


def test_a_window_longer_than_the_rest_of_the_slot_ends_with_it() -> None:
    now = at("2026-12-15", "08:00")
    ws = windows(coming_slots(CAL, now, school_days=1), now, window_seconds=7 * 60)
    last = [w for w in ws if w.slot == 1][-1]
    assert last.exp == int(at("2026-12-15", "10:00").timestamp()) and last.exp - last.nbf == 6 * 60


def test_a_window_lasts_at_least_a_second() -> None:
    with pytest.raises(ValueError):
        windows([], at("2026-12-15", "08:00"), window_seconds=0)
