"""Imports as background jobs: the upload is stored and answered at once, the import runs after the
response and writes how far it got, so the admin watches a progress bar, may leave the page and come
back, and downloads the rejected rows as CSV when it is done. The import itself is `run_import`."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.model import Principal
from backend.clock import Clock
from backend.config import Settings
from backend.errors import DomainError, not_found
from backend.unit_of_work import UnitOfWork

from .model import ImportKind
from .services import run_import
from .tables import ImportJob, ImportRejection, ImportRun

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    filename: str
    status: str  # queued | running | done | failed
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
        if self.status == "done":
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


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

    def progress(done: int, total: int) -> None:
        with UnitOfWork(session_factory) as p:
            p.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(done=done, total=total))
            p.commit()

    with UnitOfWork(session_factory) as uow:
        job = uow.session.get(ImportJob, job_id)
        if job is None or job.status != "queued" or job.data is None:
            return
        job.status = "running"
        kind, filename, data = ImportKind(job.kind), job.filename, job.data
        uow.commit()
    try:
        with UnitOfWork(session_factory) as uow:
            report = run_import(
                uow,
                kind,
                data,
                filename,
                actor=f"admin:{principal.id}",
                scope=principal,
                settings=settings,
                now=clock.now(),
                progress=progress,
            )
            uow.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(status="done", run_id=report.run_id, data=None, finished_at=clock.now())
            )
            uow.commit()
    except DomainError as exc:
        _failed(session_factory, job_id, str(exc.reason), clock)
    except Exception:
        log.exception("import job %s failed", job_id)
        _failed(session_factory, job_id, "IMPORT_FAILED", clock)  # the page says so, not "running" forever


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


def _view(job: ImportJob, run: ImportRun | None) -> JobView:
    return JobView(
        job.id,
        job.kind,
        job.filename,
        job.status,
        job.total,
        job.done,
        job.error,
        job.run_id,
        run.accepted if run else None,
        run.rejected if run else None,
        job.created_at,
        job.finished_at,
    )


def job(session: Session, principal: Principal, job_id: int) -> JobView:
    j = _job(session, principal, job_id)
    return _view(j, session.get(ImportRun, j.run_id) if j.run_id else None)


def jobs(session: Session, principal: Principal, *, limit: int = 20) -> list[JobView]:
    """The district's latest imports, newest first."""
    rows = session.execute(
        select(ImportJob, ImportRun)
        .outerjoin(ImportRun, ImportRun.id == ImportJob.run_id)
        .where(ImportJob.district == principal.district)
        .order_by(ImportJob.id.desc())
        .limit(limit)
    ).all()
    return [_view(j, r) for j, r in rows]


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
