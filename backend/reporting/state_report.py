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

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.bulk import chunks
from backend.clock import local_date
from backend.consent.queries import open_issues_at
from backend.delivery.services import enqueue
from backend.eligibility.queries import returned_on
from backend.ingest import queries as ingest_queries
from backend.ingest.model import BILLABLE, MealStatus
from backend.roster.tables import Pupil, School
from backend.vouchers.queries import school_vouchers_as_of

from .services import day_bounds

FORMAT = "sm-nedb-daily/1"
CHANNEL = "daily_report"
JOB = "report.daily"


def school_day(session: Session, school: School, day: date) -> dict[str, Any]:
    _, end = day_bounds(day)
    formed = school_vouchers_as_of(session, school.id, end)
    returned = returned_on(session, school.id, day.replace(day=1))
    unreached = open_issues_at(session, school.id, end)
    pupils = _pupils(session, {v.pupil_id for v in formed} | {r.pupil_id for r in returned}
                     | {u.pupil_id for u in unreached})  # fmt: skip
    meals: dict[tuple[int, str], int] = defaultdict(int)
    for (voucher_id, status), n in ingest_queries.voucher_day_counts(session, school.id, day).items():
        kind = "served" if status in BILLABLE else "held" if status == MealStatus.FLAGGED else "rejected"
        meals[(voucher_id, kind)] += n
    return {
        "school_bin": school.bin,
        "school_name": school.name,
        "pupils": [
            {
                **pupils[v.pupil_id],
                "plan": v.plan,
                "voucher_status": v.status,
                "activated_on": v.activated_on.isoformat() if v.activated_on else None,
                "meals_served": meals.get((v.voucher_id, "served"), 0),
                "meals_held": meals.get((v.voucher_id, "held"), 0),
            }
            for v in sorted(formed, key=lambda v: (pupils[v.pupil_id]["class"], v.voucher_id))
        ],
        "returned": [
            {
                "pupil": pupils[r.pupil_id]["pupil"],
                "class": pupils[r.pupil_id]["class"],
                "reason": r.reason,
                "list_month": f"{r.month:%Y-%m}",
            }
            for r in sorted(returned, key=lambda r: (pupils[r.pupil_id]["class"], r.pupil_id))
        ],
        "unreached": [
            {
                "pupil": pupils[u.pupil_id]["pupil"],
                "class": pupils[u.pupil_id]["class"],
                "reason": u.reason,
                "since": local_date(u.since).isoformat(),
            }
            for u in sorted(unreached, key=lambda u: (pupils[u.pupil_id]["class"], u.pupil_id))
        ],
    }


def _pupils(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """A pupil as the report names them: pseudonym, class and grade, never the name or IIN."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in chunks(sorted(ids)):
        for pid, pseudonym, class_name, grade in session.execute(
            select(Pupil.id, Pupil.pseudonym, Pupil.class_name, Pupil.grade).where(Pupil.id.in_(chunk))
        ):
            out[pid] = {"pupil": pseudonym.hex(), "class": class_name, "grade": grade}
    return out


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
