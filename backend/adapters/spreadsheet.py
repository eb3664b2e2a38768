"""Spreadsheet formula neutralisation (OWASP "CSV injection") for every export a person opens in Excel.

A cell whose text begins with `=`, `+`, `-`, `@`, tab or carriage return is read as a formula by
spreadsheet programs; a pupil or school named `=HYPERLINK(…)` would run as one. CSV cells get a leading
apostrophe; XLSX cells are written as text with Excel's quote prefix, so they show exactly as typed.
Numbers are left alone: only text can carry a formula.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_risky(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    return "'" + value if is_risky(value) else value


def csv_row(values: Any) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_text_cells(ws: Any) -> None:
    """Every text cell of an openpyxl sheet that would read as a formula becomes plain quoted text."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" or is_risky(cell.value):
                cell.data_type = "s"
                cell.quotePrefix = True
