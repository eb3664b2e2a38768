"""The daily report to the national education database: per school and pupil, not only counts.

For each school of a district and one local day: every voucher of the school with the pupil's status at
the end of the day, the day it was activated, billable and held meals that day; pupils the month's
list returned with the reason; pupils the consent process could not reach (NO_PHONE, UNLINKED).
Pupils are named by their pseudonym (the HMAC the terminals use) and class, never by name or IIN: the
receiving side maps pseudonyms through the key it shares with us. Document format
`sm-nedb-daily/1` (docs/backend-schoolyear.md). Queued by the worker each morning for the day before
and pushed through `backend.delivery` (file drop or HTTP JSON, retried, receipted).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.adapters.wallet_tables import (
    ConsentIssue,
    EligibilityEntry,
    EligibilityList,
    Pupil,
    School,
    Voucher,
    VoucherEvent,
)
from backend.clock import local_date
from backend.delivery.services import enqueue
from backend.ingest.model import BILLABLE, MealStatus
from backend.ingest.tables import MealEventRow

from .services import day_bounds

FORMAT = "sm-nedb-daily/1"
CHANNEL = "daily_report"
JOB = "report.daily"


def school_day(session: Session, school: School, day: date) -> dict[str, Any]:
    _, end = day_bounds(day)
    vouchers = session.execute(
        select(Voucher.id, Voucher.plan, Pupil.pseudonym, Pupil.class_name, Pupil.grade)
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(Voucher.school_id == school.id)
        .order_by(Pupil.class_name, Voucher.id)
    ).all()
    ids = [v.id for v in vouchers]
    status: dict[int, str] = {}
    activated: dict[int, date] = {}
    if ids:
        for vid, at, new in session.execute(
            select(VoucherEvent.voucher_id, VoucherEvent.at, VoucherEvent.new_status)
            .where(VoucherEvent.voucher_id.in_(ids), VoucherEvent.at < end)
            .order_by(VoucherEvent.at, VoucherEvent.id)
        ):
            status[vid] = new
            if new == "active" and vid not in activated:
                activated[vid] = local_date(at)
    meals: dict[tuple[int, str], int] = defaultdict(int)
    for meal_voucher, st, n in session.execute(
        select(MealEventRow.voucher_id, MealEventRow.status, func.count())
        .where(MealEventRow.school_id == school.id, MealEventRow.local_date == day)
        .group_by(MealEventRow.voucher_id, MealEventRow.status)
    ):
        if meal_voucher is not None:
            kind = "served" if st in BILLABLE else "held" if st == MealStatus.FLAGGED else "rejected"
            meals[(meal_voucher, kind)] += n
    pupils = [
        {
            "pupil": v.pseudonym.hex(),
            "class": v.class_name,
            "grade": v.grade,
            "plan": v.plan,
            "voucher_status": status.get(v.id, "none"),
            "activated_on": activated[v.id].isoformat() if v.id in activated else None,
            "meals_served": meals.get((v.id, "served"), 0),
            "meals_held": meals.get((v.id, "held"), 0),
        }
        for v in vouchers
        if v.id in status  # formed by the end of the day
    ]
    month = day.replace(day=1)
    returned = [
        {"pupil": pseudonym.hex(), "class": cls, "reason": reason, "list_month": f"{m:%Y-%m}"}
        for pseudonym, cls, reason, m in session.execute(
            select(Pupil.pseudonym, Pupil.class_name, EligibilityEntry.reason, EligibilityList.month)
            .join(EligibilityEntry, EligibilityEntry.pupil_id == Pupil.id)
            .join(EligibilityList, EligibilityList.id == EligibilityEntry.list_id)
            .where(
                EligibilityList.school_id == school.id,
                EligibilityList.month == month,
                EligibilityEntry.result == "returned",
            )
            .order_by(Pupil.class_name, Pupil.id)
        )
    ]
    unreached = [
        {"pupil": pseudonym.hex(), "class": cls, "reason": reason, "since": local_date(at).isoformat()}
        for pseudonym, cls, reason, at in session.execute(
            select(Pupil.pseudonym, Pupil.class_name, ConsentIssue.reason, ConsentIssue.at)
            .join(ConsentIssue, ConsentIssue.pupil_id == Pupil.id)
            .join(EligibilityList, EligibilityList.id == ConsentIssue.list_id)
            .where(
                EligibilityList.school_id == school.id,
                ConsentIssue.at < end,
                (ConsentIssue.resolved_at.is_(None)) | (ConsentIssue.resolved_at >= end),
            )
            .order_by(Pupil.class_name, Pupil.id)
        )
    ]
    return {
        "school_bin": school.bin,
        "school_name": school.name,
        "pupils": pupils,
        "returned": returned,
        "unreached": unreached,
    }


def district_day(session: Session, district: str, day: date, now: datetime) -> dict[str, Any]:
    schools = session.scalars(select(School).where(School.district == district).order_by(School.bin))
    return {
        "format": FORMAT,
        "district": district,
        "date": day.isoformat(),
        "generated_at": now.isoformat(),
        "schools": [school_day(session, s, day) for s in schools],
    }


def queue_day(session: Session, day: date, now: datetime) -> int:
    """One document per district for `day`, queued once (the key is the district and date)."""
    queued = 0
    for district in session.scalars(select(School.district).distinct().order_by(School.district)):
        key = f"{CHANNEL}:{district}:{day.isoformat()}"
        if enqueue(
            session, channel=CHANNEL, key=key, document=district_day(session, district, day, now), now=now
        ):
            queued += 1
    return queued


def handler(session: Session, payload: dict[str, Any], now: datetime) -> str:
    """Scheduler handler: the report of the day named in the payload."""
    return f"queued {queue_day(session, date.fromisoformat(payload['day']), now)}"


def job_for(now: datetime) -> tuple[str, datetime, dict[str, Any]]:
    """(key, due_at, payload) of the job reporting yesterday (school-local), due from 01:00."""
    yesterday = local_date(now) - timedelta(days=1)
    start, _ = day_bounds(local_date(now))
    return f"{JOB}:{yesterday.isoformat()}", start + timedelta(hours=1), {"day": yesterday.isoformat()}
