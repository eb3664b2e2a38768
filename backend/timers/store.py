"""The timer store: rows in `scheduled_jobs` (due_at, kind, unique key, done_at) run by `run_due(now)`.

A job is claimed with a row lock (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers) and
its handler runs in the same transaction that sets done_at, so a crash before commit leaves the job to
run again and a commit makes it done exactly once. Handlers queue SMS in that same transaction, so a job
that ran twice concurrently still yields one message. Keys are unique: scheduling the same timer twice is
a no-op.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.bulk import bulk_insert
from backend.adapters.locking import for_update
from backend.unit_of_work import UnitOfWork

from .tables import ScheduledJob

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


@dataclass(frozen=True, slots=True)
class Timer:
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]


def schedule_new(session: Session, timers: Sequence[Timer]) -> None:
    """Adds many timers in one bulk insert; their keys must be new (fresh ids in them make them so)."""
    bulk_insert(
        session,
        ScheduledJob,
        [
            {"kind": t.kind, "key": t.key, "due_at": t.due_at, "payload": json.dumps(t.payload)}
            for t in timers
        ],
    )


def cancel(session: Session, key: str, now: datetime, outcome: str = "cancelled") -> None:
    job = session.scalar(select(ScheduledJob).where(ScheduledJob.key == key, ScheduledJob.done_at.is_(None)))
    if job is not None:
        job.done_at = now
        job.outcome = outcome


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
            with UnitOfWork(session_factory) as uow:
                session = uow.session
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
                uow.commit()
        except Exception as exc:
            if job_id is None:
                raise
            log.exception("scheduled job %s failed", job_id)
            with UnitOfWork(session_factory) as uow:
                failed = uow.session.get(ScheduledJob, job_id)
                if failed is not None:
                    failed.due_at = now + RETRY_AFTER
                    failed.outcome = f"error: {exc}"[:200]
                uow.commit()
        ran += 1
    return ran
