"""Turns a timesheet or an act into one tabular document that every exporter (CSV, XLSX, PDF) renders.

Titles are bilingual (Kazakh / Russian), as the forms schools file are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from backend.vouchers.model import Plan

from .model import PLAN_NAMES, Act, Timesheet, due_date, format_tenge

Cell = str | int


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    meta: tuple[tuple[str, str], ...]  # (label, value) lines above the table
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    totals: tuple[Cell, ...]
    signatures: tuple[str, ...] = ()


def plan_name(plan: int) -> str:
    try:
        return PLAN_NAMES[Plan(plan)]
    except ValueError:
        return str(plan)


def _counts(cells: Mapping[date, int], days: tuple[date, ...]) -> tuple[Cell, ...]:
    return tuple(cells.get(d, 0) for d in days)


def timesheet_document(ts: Timesheet) -> Document:
    header = ("№", "Оқушы / Ученик", "Сынып / Класс", "Түрі / План", *(f"{d.day:02d}" for d in ts.days), "Σ")
    rows = tuple(
        (i, r.label, r.class_name, plan_name(r.plan), *_counts(r.cells, ts.days), r.total)
        for i, r in enumerate(ts.rows, start=1)
    )
    day_totals = ts.day_totals()
    totals: tuple[Cell, ...] = ("", "Барлығы / Итого", "", "", *(day_totals[d] for d in ts.days), ts.total)
    meta = (
        ("Мектеп / Школа", f"{ts.school.name} (БСН/БИН {ts.school.bin})"),
        ("Ай / Месяц", ts.month.strftime("%Y-%m")),
        ("Ұсталған (тексеруде) / Удержано (на проверке)", str(ts.held_flagged)),
    )
    return Document("Тамақтануды есепке алу табелі / Табель учёта питания", meta, header, rows, totals)


def act_document(act: Act, *, version: int | None = None) -> Document:
    header = (
        "Түрі / План",
        "Ас / Приём пищи",
        "Кезең / Период",
        "Саны / Кол-во",
        "Баға / Цена, ₸",
        "Мемлекет / Гос-во, ₸",
        "Ата-ана / Родители, ₸",
        "Сомасы / Сумма, ₸",
    )
    rows = tuple(
        (
            plan_name(ln.plan),
            ln.slot,
            f"{ln.first_day:%d.%m}–{ln.last_day:%d.%m} (тариф {ln.valid_from:%d.%m.%Y})",
            ln.meals,
            format_tenge(ln.unit.amount_tiyn),
            format_tenge(ln.state_tiyn),
            format_tenge(ln.parent_tiyn),
            format_tenge(ln.amount_tiyn),
        )
        for ln in act.lines
    )
    totals: tuple[Cell, ...] = (
        "Барлығы / Итого",
        "",
        "",
        act.meals,
        "",
        format_tenge(act.state_tiyn),
        format_tenge(act.parent_tiyn),
        format_tenge(act.amount_tiyn),
    )
    meta = (
        ("Тапсырыс беруші / Заказчик", f"{act.school.name} (БСН/БИН {act.school.bin})"),
        ("Жеткізуші / Поставщик", f"{act.supplier.name} (БСН/БИН {act.supplier.bin})"),
        ("Ай / Месяц", act.month.strftime("%Y-%m")),
        ("Мерзімі / Срок", due_date(act.month).isoformat()),
        ("Нұсқа / Версия", "-" if version is None else str(version)),
    )
    return Document(
        "Орындалған жұмыстар актісі / Акт выполненных работ (оказанных услуг)",
        meta,
        header,
        rows,
        totals,
        signatures=(
            "Тапсырыс беруші / Заказчик: ________________",
            "Жеткізуші / Поставщик: ________________",
        ),
    )
