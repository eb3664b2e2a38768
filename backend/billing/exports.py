"""Renders a Document as CSV (stdlib), XLSX (openpyxl) or PDF (fpdf2 with the bundled DejaVu Sans)."""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Font

from backend.adapters.spreadsheet import csv_row, xlsx_text_cells

from .documents import Document

FONT_PATH = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.PDF: "application/pdf",
}


def to_csv(doc: Document) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(csv_row([doc.title]))
    for label, value in doc.meta:
        w.writerow(csv_row([label, value]))
    w.writerow(csv_row(doc.header))
    w.writerows(csv_row(r) for r in doc.rows)
    w.writerow(csv_row(doc.totals))
    # UTF-8 with BOM so spreadsheet programs on Windows read Cyrillic and Kazakh letters correctly.
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(doc: Document) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "report"
    ws.append([doc.title])
    ws["A1"].font = Font(bold=True, size=13)
    for label, value in doc.meta:
        ws.append([label, value])
    ws.append(list(doc.header))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in doc.rows:
        ws.append(list(row))
    ws.append(list(doc.totals))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for line in doc.signatures:
        ws.append([line])
    xlsx_text_cells(ws)  # names and the like never run as formulas
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(doc: Document) -> bytes:
    wide = len(doc.header) > 10  # a timesheet with a column per school day needs landscape
    pdf = FPDF(orientation="L" if wide else "P", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(FONT_PATH))
    pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 6, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=8)
    for label, value in doc.meta:
        pdf.multi_cell(0, 4.5, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", size=6 if wide else 7)
    with pdf.table(
        first_row_as_headings=True,
        headings_style=FontFace(emphasis="", fill_color=(225, 225, 225)),  # one bundled face, no bold
        text_align="LEFT",
        line_height=3.5 if wide else 4,
        col_widths=_widths(doc),
    ) as table:
        for values in (doc.header, *doc.rows, doc.totals):
            row = table.row()
            for v in values:
                row.cell(str(v))
    pdf.ln(4)
    pdf.set_font("DejaVu", size=8)
    for line in doc.signatures:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _widths(doc: Document) -> tuple[int, ...]:
    """Relative column widths: text columns wide, per-day count columns narrow."""
    longest = [
        max(len(str(r[i])) for r in (doc.header, *doc.rows, doc.totals)) for i in range(len(doc.header))
    ]
    return tuple(max(2, min(n, 30)) for n in longest)


RENDERERS = {ExportFormat.CSV: to_csv, ExportFormat.XLSX: to_xlsx, ExportFormat.PDF: to_pdf}


def render(doc: Document, fmt: ExportFormat) -> bytes:
    return RENDERERS[fmt](doc)
