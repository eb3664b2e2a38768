"""Daily report to the national education database: per school and day, counts only (no pupil data).

Pure: the service aggregates events and the voucher audit trail in SQL and hands the counts here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from backend.adapters.spreadsheet import csv_row
from backend.ingest.model import BILLABLE, MealStatus

FORMAT_VERSION = 1


class ReportReason(StrEnum):
    BAD_DATE = "BAD_DATE"
    FUTURE_DATE = "FUTURE_DATE"
    BAD_FORMAT = "BAD_FORMAT"


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class SchoolDayReport:
    day: date
    school_id: int
    school_bin: str
    school_name: str
    district: str
    activations: int  # vouchers that became active that day (from the voucher audit trail)
    active_vouchers: int  # vouchers active at the end of that day (rebuilt from the audit trail)
    meals_by_plan: Mapping[int, int]  # billable meals (ok or accepted by an admin) per plan
    meals_by_slot: Mapping[int, int]  # the same meals per meal slot
    flagged_held: int  # meals held out of billing, awaiting an admin's decision
    rejected: int  # meals an admin rejected

    @property
    def meals_served(self) -> int:
        return sum(self.meals_by_plan.values())


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    generated_at: datetime
    schools: tuple[SchoolDayReport, ...]

    def totals(self) -> dict[str, int]:
        return {
            "activations": sum(s.activations for s in self.schools),
            "meals_served": sum(s.meals_served for s in self.schools),
            "flagged_held": sum(s.flagged_held for s in self.schools),
        }


def school_report(
    *,
    day: date,
    school: tuple[int, str, str, str],
    activations: int,
    active_vouchers: int,
    meals: Iterable[tuple[int, int, str, int]],
) -> SchoolDayReport:
    """`meals`: (plan, slot, status, count) rows of that school's events on `day`."""
    by_plan: dict[int, int] = {}
    by_slot: dict[int, int] = {}
    held = rejected = 0
    for plan, slot, status, n in meals:
        if status in BILLABLE:
            by_plan[plan] = by_plan.get(plan, 0) + n
            by_slot[slot] = by_slot.get(slot, 0) + n
        elif status == MealStatus.FLAGGED:
            held += n
        elif status == MealStatus.REJECTED_BY_ADMIN:
            rejected += n
    school_id, bin_, name, district = school
    return SchoolDayReport(
        day, school_id, bin_, name, district, activations, active_vouchers, by_plan, by_slot, held, rejected
    )


def to_json(report: DailyReport) -> bytes:
    body = {
        "format": "school-meals-daily",
        "version": FORMAT_VERSION,
        "date": report.day.isoformat(),
        "generated_at": report.generated_at.isoformat(),
        "totals": report.totals(),
        "schools": [
            {
                "school_bin": s.school_bin,
                "school_name": s.school_name,
                "district": s.district,
                "activations": s.activations,
                "active_vouchers": s.active_vouchers,
                "meals_served": s.meals_served,
                "meals_free": s.meals_by_plan.get(1, 0),
                "meals_discounted": s.meals_by_plan.get(2, 0),
                "meals_by_slot": {str(k): v for k, v in sorted(s.meals_by_slot.items())},
                "flagged_held": s.flagged_held,
                "rejected": s.rejected,
            }
            for s in report.schools
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=1).encode()


CSV_COLUMNS = (
    "date",
    "school_bin",
    "school_name",
    "district",
    "activations",
    "active_vouchers",
    "meals_served",
    "meals_free",
    "meals_discounted",
    "flagged_held",
    "rejected",
)


def to_csv(report: DailyReport) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for s in report.schools:
        w.writerow(
            csv_row(
                (
                    s.day.isoformat(),
                    s.school_bin,
                    s.school_name,
                    s.district,
                    s.activations,
                    s.active_vouchers,
                    s.meals_served,
                    s.meals_by_plan.get(1, 0),
                    s.meals_by_plan.get(2, 0),
                    s.flagged_held,
                    s.rejected,
                )
            )
        )
    return out.getvalue().encode("utf-8")


def render(report: DailyReport, fmt: ReportFormat) -> bytes:
    return to_json(report) if fmt is ReportFormat.JSON else to_csv(report)
