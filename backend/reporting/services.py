"""Daily report use cases: figures for one local day per school, rebuilt from events and the audit trail.

Nothing is read from a counter: activations and active vouchers come from `voucher_events`, meals from
`meal_events` by their local date, so the report of any past day can be produced again at any time
(late batches and admin decisions on flags restate it, as they should).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import KZ_TZ
from backend.ingest import queries as meal_queries
from backend.roster.tables import School
from backend.vouchers import queries as vouchers

from .model import DailyReport, ReportFormat, render, school_report


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the school-local day starts and ends."""
    start = datetime.combine(day, time(0), KZ_TZ)
    return start, start + timedelta(days=1)


def daily_report(
    session: Session, day: date, school_ids: Collection[int], now: datetime, *, voucher_figures: bool = True
) -> DailyReport:
    """`voucher_figures=False` leaves activations and active vouchers at 0 and skips their queries, which
    read every voucher's history (a quarter of a second for 100,000 vouchers): for a view that reads
    only the day's meals of earlier days (the console's dashboard)."""
    start, end = day_bounds(day)
    activations = vouchers.activations_between(session, school_ids, start, end) if voucher_figures else {}
    active = vouchers.active_at(session, school_ids, end) if voucher_figures else {}
    meals = meal_queries.day_counts(session, school_ids, day)
    schools = session.execute(
        select(School.id, School.bin, School.name, School.district)
        .where(School.id.in_(school_ids))
        .order_by(School.id)
    )
    return DailyReport(
        day,
        now,
        tuple(
            school_report(
                day=day,
                school=(s_id, s_bin, s_name, s_district),
                activations=activations.get(s_id, 0),
                active_vouchers=active.get(s_id, 0),
                meals=meals.get(s_id, ()),
            )
            for s_id, s_bin, s_name, s_district in schools
        ),
    )


def write_daily_files(report: DailyReport, out_dir: Path) -> list[Path]:
    """The export for the national education database: daily-YYYY-MM-DD.json and .csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in ReportFormat:
        path = out_dir / f"daily-{report.day.isoformat()}.{fmt.value}"
        path.write_bytes(render(report, fmt))
        paths.append(path)
    return paths
