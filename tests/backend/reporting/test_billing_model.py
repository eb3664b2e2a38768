"""Billing domain rules without a database: tariffs in force, splits, act lines, status, timesheet."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from backend.billing.documents import act_document, timesheet_document
from backend.billing.exports import ExportFormat, render
from backend.billing.model import (
    Act,
    ActStatus,
    BillingError,
    BillingReason,
    MealCount,
    Party,
    PupilDayCount,
    PupilInfo,
    TariffBook,
    Timesheet,
    act_status,
    build_act,
    build_timesheet,
    due_date,
    format_tenge,
    month_days,
    parse_month,
    reconcile,
    split,
)
from backend.calendar.model import Tariff

SEPT = date(2026, 9, 1)
SCHOOL = Party(7, "123456789012", "№5 мектеп-гимназиясы / Школа-гимназия №5")
SUPPLIER = Party(3, "210987654321", "«Дәмді ас» ЖШС / ТОО «Дамды ас»")


def book() -> TariffBook:
    return TariffBook(
        [
            Tariff(None, 1, 1, date(2026, 9, 1), 45_000, 45_000),
            Tariff(None, 2, 1, date(2026, 9, 1), 45_000, 27_000),
            Tariff(None, 1, 2, date(2026, 9, 1), 80_050, 80_050),
            # mid-month rise, for this school only
            Tariff(7, 1, 1, date(2026, 9, 15), 47_500, 47_500),
            Tariff(None, 1, 1, date(2026, 10, 1), 99_900, 99_900),  # not yet in force in September
        ]
    )


def test_school_tariff_wins_from_its_date_default_before() -> None:
    b = book()
    assert b.in_force(7, 1, 1, date(2026, 9, 14)).amount_tiyn == 45_000
    assert b.in_force(7, 1, 1, date(2026, 9, 15)).amount_tiyn == 47_500
    assert b.in_force(8, 1, 1, date(2026, 9, 15)).amount_tiyn == 45_000  # another school keeps the default
    assert b.in_force(8, 1, 1, date(2026, 10, 1)).amount_tiyn == 99_900


def test_missing_tariff_is_a_reasoned_error() -> None:
    with pytest.raises(BillingError) as err:
        book().in_force(7, 2, 2, date(2026, 9, 2))
    assert err.value.reason is BillingReason.NO_TARIFF
    with pytest.raises(BillingError):
        book().in_force(7, 1, 1, date(2026, 8, 31))  # before any tariff


def test_free_plan_state_pays_all_discounted_splits() -> None:
    t = Tariff(None, 2, 1, SEPT, 45_000, 27_000)
    assert (split(2, t).state_tiyn, split(2, t).parent_tiyn) == (27_000, 18_000)
    free = Tariff(None, 1, 1, SEPT, 45_000, 45_000)
    assert (split(1, free).state_tiyn, split(1, free).parent_tiyn) == (45_000, 0)
    with pytest.raises(BillingError) as err:
        split(3, t)
    assert err.value.reason is BillingReason.UNKNOWN_PLAN


def test_act_prices_each_day_with_its_tariff_and_groups_periods() -> None:
    counts = [
        MealCount(7, date(2026, 9, 14), 1, 1, 10),  # old tariff
        MealCount(7, date(2026, 9, 15), 1, 1, 10),  # new tariff
        MealCount(7, date(2026, 9, 16), 1, 1, 5),
        MealCount(7, date(2026, 9, 14), 1, 2, 4),  # discounted
        MealCount(7, date(2026, 9, 15), 2, 1, 3),  # lunch
    ]
    act = build_act(SCHOOL, SUPPLIER, SEPT, counts, book())
    assert act.meals == 32
    assert act.amount_tiyn == 10 * 45_000 + 15 * 47_500 + 4 * 45_000 + 3 * 80_050
    assert act.state_tiyn == 10 * 45_000 + 15 * 47_500 + 4 * 27_000 + 3 * 80_050
    assert act.parent_tiyn == 4 * 18_000
    assert act.state_tiyn + act.parent_tiyn == act.amount_tiyn
    new_period = next(ln for ln in act.lines if ln.valid_from == date(2026, 9, 15))
    assert (new_period.meals, new_period.first_day, new_period.last_day) == (
        15,
        date(2026, 9, 15),
        date(2026, 9, 16),
    )


def test_act_refuses_counts_from_another_month_or_school() -> None:
    with pytest.raises(BillingError) as err:
        build_act(SCHOOL, SUPPLIER, SEPT, [MealCount(7, date(2026, 10, 1), 1, 1, 1)], book())
    assert err.value.reason is BillingReason.BAD_MONTH
    with pytest.raises(BillingError):
        build_act(SCHOOL, SUPPLIER, SEPT, [MealCount(8, date(2026, 9, 2), 1, 1, 1)], book())


def test_content_hash_changes_with_figures_only() -> None:
    a = build_act(SCHOOL, SUPPLIER, SEPT, [MealCount(7, date(2026, 9, 2), 1, 1, 3)], book())
    b = build_act(SCHOOL, SUPPLIER, SEPT, [MealCount(7, date(2026, 9, 2), 1, 1, 3)], book())
    c = build_act(SCHOOL, SUPPLIER, SEPT, [MealCount(7, date(2026, 9, 2), 1, 1, 4)], book())
    assert a.content_hash() == b.content_hash() != c.content_hash()


@pytest.mark.parametrize(
    ("today", "signed", "status"),
    [
        (date(2026, 9, 30), False, ActStatus.DRAFT),
        (date(2026, 10, 1), False, ActStatus.AVAILABLE),
        (date(2026, 10, 5), False, ActStatus.AVAILABLE),
        (date(2026, 10, 6), False, ActStatus.OVERDUE),
        (date(2026, 10, 6), True, ActStatus.SIGNED),
    ],
)
def test_act_status_by_calendar(today: date, signed: bool, status: ActStatus) -> None:
    assert act_status(SEPT, today, signed=signed) is status


def test_months() -> None:
    assert parse_month("2026-09") == SEPT
    assert due_date(date(2026, 12, 1)) == date(2027, 1, 5)
    assert len(month_days(date(2028, 2, 1))) == 29
    for bad in ("2026-9", "2026-13", "Sept", "2026-09-01"):
        with pytest.raises(BillingError) as err:
            parse_month(bad)
        assert err.value.reason is BillingReason.BAD_MONTH


def test_format_tenge_is_exact() -> None:
    assert format_tenge(45_000) == "450.00"
    assert format_tenge(80_050) == "800.50"
    assert format_tenge(7) == "0.07"
    assert format_tenge(-7) == "-0.07"


PUPILS = {
    1: PupilInfo(1, "Әлия Серікқызы Нұрланова", "Ә.Н. 2А", "2А"),
    2: PupilInfo(2, "Иван Петров", "И.П. 6Б", "6Б"),
}


def _timesheet(names: bool) -> tuple[list[date], Timesheet]:
    days = [d for d in month_days(SEPT) if d.weekday() < 5]
    counts = [
        PupilDayCount(1, 1, days[0], 1),
        PupilDayCount(1, 1, days[1], 2),
        PupilDayCount(2, 2, days[1], 1),
    ]
    return days, build_timesheet(SCHOOL, SEPT, days, PUPILS, counts, names_shown=names, held_flagged=2)


def test_timesheet_grid_totals_and_name_privacy() -> None:
    days, ts = _timesheet(names=True)
    assert ts.total == 4
    assert ts.day_totals()[days[1]] == 3
    assert [r.label for r in ts.rows] == ["Әлия Серікқызы Нұрланова", "Иван Петров"]
    _, hidden = _timesheet(names=False)
    assert [r.label for r in hidden.rows] == ["Ә.Н. 2А", "И.П. 6Б"]
    csv_text = render(timesheet_document(hidden), ExportFormat.CSV).decode("utf-8-sig")
    assert "Нұрланова" not in csv_text and "Ә.Н. 2А" in csv_text


def test_reconcile_finds_a_mismatch() -> None:
    _, ts = _timesheet(names=True)
    days = [d for d in month_days(SEPT) if d.weekday() < 5]
    act = build_act(
        SCHOOL,
        SUPPLIER,
        SEPT,
        [MealCount(7, days[0], 1, 1, 1), MealCount(7, days[1], 1, 1, 2), MealCount(7, days[1], 1, 2, 1)],
        book(),
    )
    events = [(days[0], 1, 1), (days[1], 1, 1), (days[1], 1, 1), (days[1], 1, 2)]
    good = reconcile(ts, act, events, book())
    assert good.ok, good.problems
    assert good.events_amount_tiyn == act.amount_tiyn
    bad = reconcile(ts, act, events[:-1], book())
    assert not bad.ok and len(bad.problems) == 3


def _act() -> Act:
    counts = [MealCount(7, date(2026, 9, 14), 1, 2, 4), MealCount(7, date(2026, 9, 15), 1, 1, 10)]
    return build_act(SCHOOL, SUPPLIER, SEPT, counts, book())


def test_exports_carry_the_same_figures() -> None:
    act = _act()
    doc = act_document(act, version=2)
    rows = list(csv.reader(io.StringIO(render(doc, ExportFormat.CSV).decode("utf-8-sig"))))
    assert rows[-1][3] == "14" and rows[-1][-1] == format_tenge(act.amount_tiyn)
    wb = openpyxl.load_workbook(io.BytesIO(render(doc, ExportFormat.XLSX)))
    last = [c.value for c in list(wb.active.rows)[-3]]  # the two signature lines follow the totals
    assert last[3] == 14 and last[-1] == format_tenge(act.amount_tiyn)
    assert "Дәмді ас" in [c.value for c in wb.active["B"] if c.value][1]
    pdf = render(doc, ExportFormat.PDF)
    assert pdf.startswith(b"%PDF-") and b"DejaVu" in pdf  # the Unicode font is embedded


def test_timesheet_pdf_renders_kazakh_letters_in_landscape() -> None:
    _, ts = _timesheet(names=True)
    pdf = render(timesheet_document(ts), ExportFormat.PDF)
    assert pdf.startswith(b"%PDF-")
    assert b"/MediaBox [0 0 841.89 595.28]" in pdf  # A4 landscape for a column per school day
