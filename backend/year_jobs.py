"""The worker's school-year duties (backend.worker calls them each tick): schedule the day's report and the month's money
step, then push due documents to the state systems.

Where documents go is configuration (`SM_X_` settings, so no new required setting):
`SM_X_NEDB_DROP_DIR` or `SM_X_NEDB_URL` (+ `SM_X_NEDB_TOKEN`) for the daily report,
`SM_X_EOTINISH_DROP_DIR` or `SM_X_EOTINISH_URL` (+ `SM_X_EOTINISH_TOKEN`) for appeals. A channel
with neither keeps its documents queued until one is configured."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.outbound import FileDropSink, HttpJsonSink, Sink
from backend.billing.model import month_start
from backend.billing.steps import generate
from backend.clock import local_date
from backend.config import Settings
from backend.delivery.services import push_due
from backend.feedback.eotinish import EOTINISH
from backend.feedback.eotinish import on_receipt as appeal_receipted
from backend.reporting import state_report
from backend.roster.tables import School
from backend.timers.store import Handler, schedule

BILLING_JOB = "billing.generate"


def sinks_from(settings: Settings) -> dict[str, Sink]:
    out: dict[str, Sink] = {}
    for channel, prefix in ((state_report.CHANNEL, "SM_X_NEDB"), (EOTINISH, "SM_X_EOTINISH")):
        drop, url = settings.extra.get(f"{prefix}_DROP_DIR"), settings.extra.get(f"{prefix}_URL")
        if url:
            out[channel] = HttpJsonSink(url, settings.extra.get(f"{prefix}_TOKEN"))
        elif drop:
            out[channel] = FileDropSink(Path(drop))
    return out


def _billing(session: Session, payload: dict[str, Any], now: datetime) -> str:
    """The previous month's acts for every school: the timesheet step, or a new version after late data."""
    month = datetime.fromisoformat(payload["month"]).date()
    school_ids = list(session.scalars(select(School.id)))
    return f"generated {generate(session, school_ids, month, now)}"


def handlers() -> dict[str, Handler]:
    return {state_report.JOB: state_report.handler, BILLING_JOB: _billing}


def schedule_day(session: Session, now: datetime) -> None:
    """Once per school-local day (unique keys): yesterday's report, and last month's acts brought up to
    date (the first run after month end makes the timesheets; later runs catch late batches)."""
    key, due, payload = state_report.job_for(now)
    schedule(session, kind=state_report.JOB, key=key, due_at=due, payload=payload)
    today = local_date(now)
    previous = month_start(month_start(today) - timedelta(days=1))
    schedule(
        session,
        kind=BILLING_JOB,
        key=f"{BILLING_JOB}:{today.isoformat()}",
        due_at=now,
        payload={"month": previous.isoformat()},
    )


def push(session_factory: sessionmaker[Session], sinks: Mapping[str, Sink], now: datetime) -> dict[str, int]:
    return push_due(session_factory, sinks, now, on_receipt={EOTINISH: appeal_receipted})
