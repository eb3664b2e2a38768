from __future__ import annotations

from datetime import date, datetime, time

import pytest

from backend.calendar.model import (
    WEEKDAYS_MON_FRI,
    CalendarError,
    CalendarReason,
    DayRule,
    SchoolCalendar,
    SlotTime,
    Tariff,
    check_new_period,
    check_slots,
    merge_rules,
    tariff_in_force,
    tariff_periods,
    tiyn_of,
)
from backend.clock import KZ_TZ

BREAKFAST = SlotTime(1, time(8, 30), time(10, 0))
LUNCH = SlotTime(2, time(12, 0), time(14, 0))
MON = date(2026, 9, 14)


def cal(rules: dict[date, DayRule] | None = None) -> SchoolCalendar:
    return SchoolCalendar(1, WEEKDAYS_MON_FRI, (BREAKFAST, LUNCH), rules or {})


def test_weekday_rule_and_weekend() -> None:
    c = cal()
    assert c.slots_on(MON) == (1, 2)
    assert c.slots_on(date(2026, 9, 19)) == ()  # Saturday
    assert c.school_days(MON, date(2026, 9, 20)) == [date(2026, 9, 14 + i) for i in range(5)]


def test_holiday_and_extra_day_and_short_day() -> None:
    rules = {
        MON: DayRule(MON, False, note="holiday"),
        date(2026, 9, 19): DayRule(date(2026, 9, 19), True),  # a working Saturday
        date(2026, 9, 15): DayRule(date(2026, 9, 15), True, (2,)),  # lunch only
    }
    c = cal(rules)
    assert not c.is_school_day(MON)
    assert c.slots_on(date(2026, 9, 19)) == (1, 2)
    assert c.slots_on(date(2026, 9, 15)) == (2,)


def test_school_rule_beats_district_rule() -> None:
    district = [DayRule(MON, False, note="district holiday")]
    school = [DayRule(MON, True, note="this school makes it up")]
    assert merge_rules(district, school)[MON].school_day
    assert not merge_rules(district, [])[MON].school_day


def test_slot_at_local_time() -> None:
    c = cal()
    assert c.slot_at(datetime(2026, 9, 14, 9, 0, tzinfo=KZ_TZ)) == 1
    assert c.slot_at(datetime(2026, 9, 14, 11, 0, tzinfo=KZ_TZ)) is None
    assert c.slot_at(datetime(2026, 9, 14, 14, 0, tzinfo=KZ_TZ)) is None  # end is exclusive
    assert c.slot_at(datetime(2026, 9, 19, 12, 0, tzinfo=KZ_TZ)) is None  # Saturday


def test_bundle_calendar_lists_school_days_in_window() -> None:
    b = cal({MON: DayRule(MON, False)}).to_bundle(MON, 7)
    assert b.utc_offset_minutes == 300
    assert sorted(b.days) == [20260915, 20260916, 20260917, 20260918]
    assert [(s.slot_id, s.start_minute, s.end_minute) for s in b.slots] == [(1, 510, 600), (2, 720, 840)]


def test_bad_slots_refused() -> None:
    with pytest.raises(CalendarError) as e:
        SlotTime(1, time(10), time(9))
    assert e.value.reason == CalendarReason.BAD_SLOT
    with pytest.raises(CalendarError) as e:
        check_slots([SlotTime(1, time(8), time(10)), SlotTime(2, time(9), time(11))])
    assert e.value.reason == CalendarReason.OVERLAPPING_SLOTS


def test_tariff_changes_mid_month_and_school_override() -> None:
    tariffs = [
        Tariff(None, 1, 2, date(2026, 9, 1), 90_000, 90_000),
        Tariff(None, 1, 2, date(2026, 9, 16), 95_000, 95_000),
        Tariff(7, 1, 2, date(2026, 9, 20), 99_000, 99_000),
        Tariff(None, 2, 2, date(2026, 9, 1), 90_000, 45_000),
    ]

    def amount(school: int, plan: int, d: date) -> int | None:
        t = tariff_in_force(tariffs, school_id=school, plan=plan, slot=2, day=d)
        return None if t is None else t.amount_tiyn

    assert amount(7, 1, date(2026, 9, 15)) == 90_000
    assert amount(7, 1, date(2026, 9, 16)) == 95_000
    assert amount(7, 1, date(2026, 9, 20)) == 99_000  # the school's own tariff wins
    assert amount(8, 1, date(2026, 9, 20)) == 95_000  # another school keeps the default
    assert amount(7, 1, date(2026, 8, 31)) is None
    discounted = tariff_in_force(tariffs, school_id=7, plan=2, slot=2, day=MON)
    assert discounted is not None and discounted.family_share_tiyn == 45_000


@pytest.mark.parametrize(
    ("plan", "amount", "state"),
    [(3, 100, 100), (1, 100, 50), (2, 100, 101), (2, -1, 0), (1, 100.0, 100.0)],
)
def test_bad_tariffs_refused(plan: int, amount: int, state: int) -> None:
    with pytest.raises(CalendarError) as e:
        Tariff(None, plan, 1, MON, amount, state)
    assert e.value.reason == CalendarReason.BAD_TARIFF


def test_tariff_periods_end_where_the_next_begins_and_tenge_parse_exactly() -> None:
    rows = [
        Tariff(None, 1, 1, date(2026, 10, 1), 80_000, 80_000),
        Tariff(None, 1, 1, date(2026, 9, 1), 90_000, 90_000),
        Tariff(None, 1, 2, date(2026, 9, 1), 50_000, 50_000),
        Tariff(7, 1, 1, date(2026, 9, 16), 95_000, 95_000),
    ]
    assert [
        (p.tariff.school_id, p.tariff.slot, p.tariff.valid_from, p.valid_to) for p in tariff_periods(rows)
    ] == [
        (None, 1, date(2026, 9, 1), date(2026, 9, 30)),
        (None, 1, date(2026, 10, 1), None),
        (None, 2, date(2026, 9, 1), None),
        (7, 1, date(2026, 9, 16), None),
    ]
    with pytest.raises(CalendarError) as same_day:
        check_new_period(rows, Tariff(None, 1, 1, date(2026, 9, 1), 1, 1))
    assert same_day.value.reason == CalendarReason.TARIFF_OVERLAPS
    check_new_period(rows, Tariff(7, 1, 1, date(2026, 9, 1), 1, 1))  # another school's key: no overlap
    assert [tiyn_of(t) for t in ("950", "950.5", "950,50", " 1 000 ")] == [95_000, 95_050, 95_050, 100_000]
    for bad in ("", "-1", "9.999", "1e3", "abc"):
        with pytest.raises(CalendarError) as e:
            tiyn_of(bad)
        assert e.value.reason == CalendarReason.TARIFF_BAD_AMOUNT
