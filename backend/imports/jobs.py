"""Imports as background jobs: the upload is stored and answered at once, the import runs after the
response and writes which phase it is in (parsing, checking, saving) and how far it got, so the admin
watches a progress bar, may leave the page and come back, and downloads the rejected rows as CSV when it
is done. The import itself is `run_import`.

Each progress report is also the job's heartbeat. A job still "running" (or "queued") whose heartbeat
is older than STALE_AFTER lost its runner, most likely to a server restart: `reap_stale` (at the app's
start and on each worker pass) marks it interrupted with IMPORT_INTERRUPTED, the pages show it so even
before that, and the admin starts it again. The import is one transaction, so an interrupted job saved
nothing and starting again from the file is the resumption; the file is kept until the job ends."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from backend.auth.model import Principal
from backend.clock import Clock
from backend.config import Settings
from backend.errors import DomainError, not_found
from backend.unit_of_work import UnitOfWork

from .model import ImportKind, ImportPhase, ImportReason, overall_percent
from .services import ImportReport, run_import
from .tables import ImportJob, ImportRejection, ImportRun

log = logging.getLogger(__name__)

# A runner reports at least every PROGRESS_EVERY rows (a few seconds); this long without a report, the
# runner is gone. Long enough for a single-writer SQLite save, which reports only its start and end.
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    filename: str
    status: str  # queued | running | done | failed | interrupted
    phase: str | None  # parsing | checking | saving while running
    total: int
    done: int
    error: str | None
    run_id: int | None
    accepted: int | None
    rejected: int | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        """The whole import's, over its three phases (PHASE_WEIGHTS)."""
        if self.status == "done":
            return 100
        if self.phase is None:
            return 0
        return overall_percent(ImportPhase(self.phase), self.done, self.total)

    @property
    def phase_percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def restartable(self) -> bool:
        return self.status == "interrupted"


def submit(
    uow: UnitOfWork, principal: Principal, kind: ImportKind, filename: str, data: bytes, now: datetime
) -> int:
    job = ImportJob(
        kind=kind.value,
        filename=filename[:200],
        district=principal.district,
        admin_id=principal.id,
        data=data,
        status="queued",
        total=0,
        done=0,
        created_at=now,
    )
    uow.session.add(job)
    uow.commit()
    return job.id


def run(
    session_factory: sessionmaker[Session],
    job_id: int,
    principal: Principal,
    *,
    settings: Settings,
    clock: Clock,
) -> None:
    """Runs a queued job to its end (after the upload's response); progress lands in its own short
    transactions, so the page sees it while the import's transaction is still open."""
    # SQLite has one writer: while the import's transaction writes, another transaction's report would
    # wait for it (and time out), so the saving phase is reported at its start only (and the end, done).
    one_writer = session_factory.kw["bind"].dialect.name == "sqlite"

    saving_shown = False

    def progress(phase: ImportPhase, done: int, total: int) -> None:
        nonlocal saving_shown
        if one_writer and phase is ImportPhase.SAVING:
            if saving_shown:
                return
            saving_shown = True  # the first, sent before the import's first write
        with UnitOfWork(session_factory) as p:
            p.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.status == "running")
                .values(phase=phase.value, done=done, total=total, heartbeat_at=clock.now())
            )
            p.commit()

    with UnitOfWork(session_factory) as uow:
        # the claim is one conditional update: of two runners (a restart clicked twice) one wins
        claimed = _count(
            uow.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.status == "queued", ImportJob.data.is_not(None))
                .values(status="running", phase=None, done=0, total=0, heartbeat_at=clock.now())
            )
        )
        job = uow.session.get(ImportJob, job_id) if claimed else None
        if job is None or job.data is None:
            return
        kind, filename, data = ImportKind(job.kind), job.filename, job.data
        uow.commit()

    def record_end(report: ImportReport) -> None:
        ended = _count(
            work.session.execute(  # the import's own transaction
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.status == "running")
                .values(status="done", phase=None, run_id=report.run_id, data=None, finished_at=clock.now())
            )
        )
        if not ended:
            raise _Superseded

    try:
        with UnitOfWork(session_factory) as work:
            run_import(
                work,
                kind,
                data,
                filename,
                actor=f"admin:{principal.id}",
                scope=principal,
                settings=settings,
                now=clock.now(),
                progress=progress,
                before_commit=record_end,
            )
    except _Superseded:
        # marked interrupted meanwhile (its heartbeat looked dead) and perhaps started again: the
        # import's transaction is undone, so its rows never land twice
        log.warning("import job %s ended after it was marked interrupted; its result is dropped", job_id)
    except DomainError as exc:
        _failed(session_factory, job_id, str(exc.reason), clock)
    except Exception:
        log.exception("import job %s failed", job_id)
        _failed(session_factory, job_id, "IMPORT_FAILED", clock)  # the page says so, not "running" forever


class _Superseded(Exception):
    """The job is no longer this runner's."""


def _count(result: object) -> int:
    """Rows an UPDATE touched (its CursorResult's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _stale(now: datetime) -> ColumnElement[bool]:
    """A job whose runner is gone: running without a report for STALE_AFTER, or queued that long and
    never claimed (the server stopped between the upload's answer and its background run)."""
    last_sign = func.coalesce(ImportJob.heartbeat_at, ImportJob.created_at)
    return ImportJob.status.in_(("running", "queued")) & (last_sign < now - STALE_AFTER)


def reap_stale(session_factory: sessionmaker[Session], now: datetime) -> int:
    """Marks every job whose runner is gone interrupted, with its reason; keeps its file for a restart.
    Run when the app starts and on each worker pass. Returns how many."""
    with UnitOfWork(session_factory) as uow:
        n = _count(
            uow.session.execute(
                update(ImportJob)
                .where(_stale(now))
                .values(status="interrupted", error=ImportReason.INTERRUPTED.value, finished_at=now)
            )
        )
        uow.commit()
    if n:
        log.warning("%s import job(s) lost their runner and were marked interrupted", n)
    return n


def restart(uow: UnitOfWork, principal: Principal, job_id: int, now: datetime) -> None:
    """An interrupted job (or one whose runner is gone, not yet marked) waits for a runner again, from
    its file's first row: nothing of it was saved. Anything else is IMPORT_NOT_RESTARTABLE."""
    job = _job(uow.session, principal, job_id)
    stale = uow.session.scalar(select(ImportJob.id).where(ImportJob.id == job_id, _stale(now)))
    if (job.status != "interrupted" and stale is None) or job.data is None:
        raise DomainError(ImportReason.NOT_RESTARTABLE, f"the import is {job.status}")
    job.status, job.phase, job.done, job.total = "queued", None, 0, 0
    # the heartbeat is the restart's time: a restart no runner takes up is itself found stale
    job.error, job.finished_at, job.heartbeat_at = None, None, now
    uow.commit()


def _failed(session_factory: sessionmaker[Session], job_id: int, reason: str, clock: Clock) -> None:
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(status="failed", error=reason, data=None, finished_at=clock.now())
        )
        uow.commit()


def _job(session: Session, principal: Principal, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None or job.district != principal.district or principal.district is None:
        raise not_found("import")
    return job


def _view(job: ImportJob, run: ImportRun | None, now: datetime) -> JobView:
    status, error = job.status, job.error
    if status in ("running", "queued") and (job.heartbeat_at or job.created_at) < now - STALE_AFTER:
        status, error = "interrupted", ImportReason.INTERRUPTED.value  # shown so before the reaper runs
    return JobView(
        job.id,
        job.kind,
        job.filename,
        status,
        job.phase if status == "running" else None,
        job.total,
        job.done,
        error,
        job.run_id,
        run.accepted if run else None,
        run.rejected if run else None,
        job.created_at,
        job.finished_at,
    )


def job(session: Session, principal: Principal, job_id: int, now: datetime) -> JobView:
    j = _job(session, principal, job_id)
    return _view(j, session.get(ImportRun, j.run_id) if j.run_id else None, now)


def jobs(session: Session, principal: Principal, now: datetime, *, limit: int = 20) -> list[JobView]:
    """The district's latest imports, newest first."""
    rows = session.execute(
        select(ImportJob, ImportRun)
        .outerjoin(ImportRun, ImportRun.id == ImportJob.run_id)
        .where(ImportJob.district == principal.district)
        .order_by(ImportJob.id.desc())
        .limit(limit)
    ).all()
    return [_view(j, r, now) for j, r in rows]


def _inert(text: str) -> str:
    """A detail quotes the uploaded row: a cell a spreadsheet would run as a formula is made text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rejected_csv(session: Session, principal: Principal, job_id: int) -> bytes:
    """The rejected rows of a finished import: row number, reason code, detail."""
    j = _job(session, principal, job_id)
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["row", "reason", "detail"])
    if j.run_id is not None:
        for r in session.scalars(
            select(ImportRejection)
            .where(ImportRejection.run_id == j.run_id)
            .order_by(ImportRejection.row_number)
        ):
            out.writerow([r.row_number, r.reason, _inert(r.detail)])
    return buf.getvalue().encode("utf-8-sig")  # a BOM, so spreadsheet programs read the Cyrillic right
