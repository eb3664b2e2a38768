"""Daily report use cases: figures for one local day per school, rebuilt from events and the audit trail.

Nothing is read from a counter: activations and active vouchers come from `voucher_events`, meals from
`meal_events` by their local date, so the report of any past day can be produced again at any time
(late batches and admin decisions on flags restate it, as they should).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import and_, func, literal_column, not_, or_, select
from sqlalchemy.orm import Session, aliased

from backend.clock import KZ_TZ
from backend.ingest.tables import MealEventRow
from backend.roster.tables import School
from backend.vouchers.tables import Voucher, VoucherEvent

from .model import DailyReport, ReportFormat, render, school_report

E = MealEventRow
# Coming back from a suspension is not a new activation.
NOT_ACTIVATIONS = ("active", "suspended")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the school-local day starts and ends."""
    start = datetime.combine(day, time(0), KZ_TZ)
    return start, start + timedelta(days=1)


def _activations(
    session: Session, school_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, int]:
    stmt = (
        select(Voucher.school_id, func.count())
        .join(VoucherEvent, VoucherEvent.voucher_id == Voucher.id)
        .where(
            Voucher.school_id.in_(school_ids),
            VoucherEvent.new_status == "active",
            or_(VoucherEvent.old_status.is_(None), VoucherEvent.old_status.not_in(NOT_ACTIVATIONS)),
            VoucherEvent.at >= start,
            VoucherEvent.at < end,
        )
        .group_by(Voucher.school_id)
    )
    return {school_id: n for school_id, n in session.execute(stmt)}


def _active_at(session: Session, school_ids: Collection[int], end: datetime) -> dict[int, int]:
    """Vouchers whose last status change before `end` made them active."""
    later = aliased(VoucherEvent)
    newer_exists = (
        select(later.id)
        .where(
            later.voucher_id == VoucherEvent.voucher_id,
            later.at < end,
            or_(later.at > VoucherEvent.at, and_(later.at == VoucherEvent.at, later.id > VoucherEvent.id)),
        )
        .exists()
    )
    stmt = (
        select(Voucher.school_id, func.count())
        .join(VoucherEvent, VoucherEvent.voucher_id == Voucher.id)
        .where(
            Voucher.school_id.in_(school_ids),
            VoucherEvent.at < end,
            VoucherEvent.new_status == "active",
            not_(newer_exists),
        )
        .group_by(Voucher.school_id)
    )
    return {school_id: n for school_id, n in session.execute(stmt)}


def daily_report(session: Session, day: date, school_ids: Collection[int], now: datetime) -> DailyReport:
    start, end = day_bounds(day)
    activations = _activations(session, school_ids, start, end)
    active = _active_at(session, school_ids, end)
    meals: dict[int, list[tuple[int, int, str, int]]] = defaultdict(list)
    # One expression object each, so PostgreSQL sees the same GROUP BY expression as in the SELECT.
    plan = func.coalesce(E.plan, literal_column("0"))
    slot = func.coalesce(E.slot, literal_column("0"))
    stmt = (
        select(E.school_id, plan, slot, E.status, func.count())
        .where(E.school_id.in_(school_ids), E.local_date == day)
        .group_by(E.school_id, plan, slot, E.status)
    )
    for school_id, plan_no, slot_no, status, n in session.execute(stmt):
        meals[school_id].append((plan_no, slot_no, status, n))
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
