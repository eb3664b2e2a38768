"""Durable timers: rows in `scheduled_jobs` (due_at, kind, unique key, done_at) run by `run_due(now)`.

A job is claimed with a row lock (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers) and
its handler runs in the same transaction that sets done_at, so a crash before commit leaves the job to
run again and a commit makes it done exactly once. Handlers queue SMS in that same transaction, so a job
that ran twice concurrently still yields one message. Keys are unique: scheduling the same timer twice is
a no-op.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.locking import for_update
from backend.adapters.wallet_tables import ScheduledJob

if TYPE_CHECKING:
    from backend.context import AppContext

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(minutes=5)

# A handler gets the session of the claiming transaction, the job's payload and the time; it returns
# a short outcome recorded on the job.
Handler = Callable[[Session, dict[str, Any], datetime], str]


def schedule(session: Session, *, kind: str, key: str, due_at: datetime, payload: dict[str, Any]) -> bool:
    """Adds a timer unless one with this key exists; returns whether it was added."""
    if session.scalar(select(ScheduledJob.id).where(ScheduledJob.key == key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ScheduledJob(kind=kind, key=key, due_at=due_at, payload=json.dumps(payload)))
    except IntegrityError:  # a concurrent transaction scheduled it first
        return False
    return True


def cancel(session: Session, key: str, now: datetime, outcome: str = "cancelled") -> None:
    job = session.scalar(select(ScheduledJob).where(ScheduledJob.key == key, ScheduledJob.done_at.is_(None)))
    if job is not None:
        job.done_at = now
        job.outcome = outcome


ALLOWLIST_REFRESH = "allowlist_refresh"  # every school's bundle brought up to date, daily


def run_due(
    session_factory: sessionmaker[Session],
    now: datetime,
    handlers: Mapping[str, Handler],
    limit: int = 10_000,
) -> int:
    """Runs every job due at `now`, one transaction each; returns how many this call ran.

    A handler that raises rolls its transaction back (nothing it queued survives); the job is then
    put off by RETRY_AFTER with the error recorded, so one bad job cannot block the ones behind it."""
    ran = 0
    while ran < limit:
        job_id: int | None = None
        try:
            with session_factory() as session, session.begin():
                stmt = (
                    select(ScheduledJob)
                    .where(ScheduledJob.done_at.is_(None), ScheduledJob.due_at <= now)
                    .order_by(ScheduledJob.due_at, ScheduledJob.id)
                    .limit(1)
                )
                job = session.scalars(for_update(session, stmt, skip_locked=True)).first()
                if job is None:
                    return ran
                job_id = job.id
                handler = handlers.get(job.kind)
                job.outcome = (
                    handler(session, json.loads(job.payload), now)[:200]
                    if handler
                    else f"no handler for {job.kind}"
                )
                job.done_at = now
        except Exception as exc:
            if job_id is None:
                raise
            log.exception("scheduled job %s failed", job_id)
            with session_factory() as session, session.begin():
                failed = session.get(ScheduledJob, job_id)
                if failed is not None:
                    failed.due_at = now + RETRY_AFTER
                    failed.outcome = f"error: {exc}"[:200]
        ran += 1
    return ran


def tick(ctx: AppContext) -> dict[str, int]:
    """One pass of the worker: due timers (the day's allowlist refresh, daily report and billing among
    them), voucher expiry, the SMS outbox, then documents to the state systems."""
    from backend.clock import local_date
    from backend.consent.services import make_handlers
    from backend.delivery import worker as school_year
    from backend.fleet.allowlist import refresh_handler
    from backend.sms.outbox import dispatch_pending
    from backend.vouchers.services import expire_vouchers

    now = ctx.clock.now()
    with ctx.session_factory() as session, session.begin():
        # Once per school-local day, whatever the number of workers: the key makes it unique.
        schedule(
            session,
            kind=ALLOWLIST_REFRESH,
            key=f"{ALLOWLIST_REFRESH}:{local_date(now)}",
            due_at=now,
            payload={},
        )
        school_year.schedule_day(session, now)
    handlers = {
        **make_handlers(ctx.settings),
        ALLOWLIST_REFRESH: refresh_handler(ctx.keys),
        **school_year.handlers(),
    }
    jobs = run_due(ctx.session_factory, now, handlers)
    with ctx.session_factory() as session, session.begin():
        expired = expire_vouchers(session, now=now)
    sent = dispatch_pending(ctx.session_factory, ctx.sms, ctx.clock)
    pushed = school_year.push(ctx.session_factory, school_year.sinks_from(ctx.settings), now)
    return {"jobs": jobs, "expired": expired, "sms_sent": sent, "pushed": pushed["delivered"]}


def main(interval: float = 30.0) -> None:  # pragma: no cover - the long-running worker process
    """`python -m backend.scheduler`: run `tick` every `interval` seconds against SM_DATABASE_URL."""
    import time

    from backend.app import create_app

    ctx = create_app().state.ctx
    while True:
        tick(ctx)
        time.sleep(interval)


if __name__ == "__main__":  # pragma: no cover
    main()
