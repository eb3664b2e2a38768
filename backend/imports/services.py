"""Apply an export file: validate each row, upsert by natural key (BIN, IIN, pupil+parent), record a
report of rejected rows, and resume the consent process for pupils whose first parent link arrived."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.adapters.bulk import bulk_insert, chunks
from backend.auth.model import Principal
from backend.clock import local_date
from backend.config import Settings
from backend.consent.services import resume_no_phone, resume_unlinked
from backend.errors import DomainError
from backend.imports.tables import ImportRejection, ImportRun
from backend.roster.pseudonym import display_for, pseudonym_for
from backend.roster.tables import Guardianship, Parent, Pupil, School
from backend.unit_of_work import UnitOfWork
from backend.vouchers.transfers import move_vouchers

from .model import (
    ImportKind,
    ImportPhase,
    ImportReason,
    LinkRow,
    ParentRow,
    PupilRow,
    Rejection,
    RejectReason,
    Row,
    SchoolRow,
    key_of,
    read_records,
    validate,
)

CHUNK = 2000
PROGRESS_EVERY = 1000
# A district's pupils are tens of thousands; a file past this is a mistake or an attack.
MAX_ROWS = 200_000


@dataclass
class ImportReport:
    run_id: int
    kind: ImportKind
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    resumed: int = 0  # pupils whose consent process resumed thanks to a new link or phone number
    moved: int = 0  # vouchers that followed their pupil to another school
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


def run_import(
    uow: UnitOfWork,
    kind: ImportKind,
    data: bytes,
    filename: str,
    *,
    actor: str,
    settings: Settings,
    now: datetime,
    scope: Principal | None = None,
    progress: Progress | None = None,
    before_commit: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """`scope`: the importing admin; rows for schools outside their district are rejected OUT_OF_SCOPE.
    None (system imports, benchmarks) accepts every school. `progress(phase, done, total)` hears each
    phase: PARSING (characters of the file read), CHECKING (rows checked, before anything is written)
    and SAVING (rows written), every PROGRESS_EVERY units and at each phase's start and end.
    `before_commit(report)` runs in the import's own transaction just before it commits (a background
    job records its end there, so the two land together or not at all; raising undoes the import)."""
    session = uow.session
    report_to: Progress = progress or _silent
    rows: list[Row] = []
    rejected: list[Rejection] = []
    seen: set[tuple[str, ...]] = set()
    report_to(ImportPhase.PARSING, 0, len(data))

    def on_read(read: int, total: int) -> None:
        report_to(ImportPhase.PARSING, read, total)

    try:
        records = list(itertools.islice(read_records(data, filename, on_read, PROGRESS_EVERY), MAX_ROWS + 1))
    except (UnicodeDecodeError, ValueError, csv.Error, RecursionError) as exc:
        detail = f"cannot read {filename[:100]}: {str(exc)[:200]}"
        raise DomainError(ImportReason.MALFORMED, detail) from None
    if len(records) > MAX_ROWS:
        raise DomainError(ImportReason.TOO_MANY_ROWS, f"at most {MAX_ROWS} records a file; split it")
    report_to(ImportPhase.CHECKING, 0, len(records))
    for done, (number, rec) in enumerate(records, 1):
        if done % PROGRESS_EVERY == 0:
            report_to(ImportPhase.CHECKING, done, len(records))
        result = validate(kind, number, rec)
        if isinstance(result, Rejection):
            rejected.append(result)
            continue
        key = key_of(result)
        if key in seen:
            rejected.append(
                Rejection(number, RejectReason.DUPLICATE, "the same record appears earlier in the file")
            )
            continue
        seen.add(key)
        rows.append(result)
    report_to(ImportPhase.CHECKING, len(records), len(records))

    saving = _Saving(report_to, len(rows))
    saving.report()  # before the first write: a database with one writer still shows the phase
    run = ImportRun(at=now, actor=actor, kind=kind, source=filename[:200], accepted=0, rejected=0)
    session.add(run)
    session.flush()
    report = ImportReport(run_id=run.id, kind=kind)
    if kind is ImportKind.SCHOOLS:
        _schools(session, [r for r in rows if isinstance(r, SchoolRow)], report, rejected, scope, saving)
    elif kind is ImportKind.PUPILS:
        moves = _pupils(
            session, [r for r in rows if isinstance(r, PupilRow)], report, rejected, settings, scope, saving
        )
        # A pupil now at another school moved: this year's voucher follows from the import's date.
        report.moved = move_vouchers(session, moves, effective_on=local_date(now), actor=actor, now=now)
    elif kind is ImportKind.PARENTS:
        phoned = _parents(session, [r for r in rows if isinstance(r, ParentRow)], report, saving)
        report.resumed = resume_no_phone(session, phoned, settings=settings, now=now)
    else:
        new_links = _links(
            session, [r for r in rows if isinstance(r, LinkRow)], report, rejected, scope, saving
        )
        report.resumed = resume_unlinked(session, new_links, settings=settings, now=now)
    report.rejected = sorted(rejected, key=lambda r: r.row)
    run.accepted, run.rejected = report.accepted, len(report.rejected)
    if report.rejected:
        bulk_insert(
            session,
            ImportRejection,
            [
                {"run_id": run.id, "row_number": r.row, "reason": r.reason.value, "detail": r.detail}
                for r in report.rejected
            ],
        )
    saving.finish()
    if before_commit is not None:
        before_commit(report)
    uow.commit()
    return report


Progress = Callable[[ImportPhase, int, int], None]


def _silent(phase: ImportPhase, done: int, total: int) -> None:
    """No one listens (system imports, benchmarks)."""


class _Saving:
    """Counts rows written (inserted, updated, found unchanged, or refused while saving) and reports
    each time another PROGRESS_EVERY are behind."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total, self.done, self._reported = progress, total, 0, 0

    def report(self) -> None:
        self.progress(ImportPhase.SAVING, self.done, self.total)
        self._reported = self.done

    def add(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.done - self._reported >= PROGRESS_EVERY:
            self.report()

    def finish(self) -> None:
        self.done = self.total
        self.report()


def _upsert(
    session: Session,
    model: type[Any],
    key: str,
    rows: list[dict[str, Any]],
    report: ImportReport,
    saving: _Saving,
) -> dict[str, int]:
    """Insert new keys, update changed ones (bulk, by primary key); returns key → id for all rows."""
    existing: dict[str, Any] = {}
    cols = [c for c in rows[0] if c != key] if rows else []
    for chunk in chunks([r[key] for r in rows], CHUNK):
        for obj in session.execute(select(model).where(getattr(model, key).in_(chunk))).scalars():
            existing[getattr(obj, key)] = obj
    inserts, updates = [], []
    unchanged = 0
    for r in rows:
        obj = existing.get(r[key])
        if obj is None:
            inserts.append(r)
        elif any(getattr(obj, c) != r[c] for c in cols):
            updates.append({"id": obj.id, **r})
        else:
            unchanged += 1
    report.unchanged += unchanged
    saving.add(unchanged)
    ids = {k: o.id for k, o in existing.items()}
    # executemany in chunks, then ids by key: ORM bulk RETURNING is quadratic in the row count
    for part in chunks(inserts, CHUNK):
        bulk_insert(session, model, part)
        found = session.execute(
            select(getattr(model, key), model.id).where(getattr(model, key).in_([r[key] for r in part]))
        )
        ids.update({k: i for k, i in found})
        saving.add(len(part))
    for part in chunks(updates, CHUNK):
        session.execute(update(model), list(part))
        saving.add(len(part))
    report.created += len(inserts)
    report.updated += len(updates)
    return ids


def _schools(
    session: Session,
    rows: list[SchoolRow],
    report: ImportReport,
    rejected: list[Rejection],
    scope: Principal | None,
    saving: _Saving,
) -> None:
    if scope is not None:
        outside = [r for r in rows if r.district != scope.district]
        saving.add(len(outside))
        rejected.extend(
            Rejection(r.row, RejectReason.OUT_OF_SCOPE, f"district {r.district}") for r in outside
        )
        rows = [r for r in rows if r.district == scope.district]
    _upsert(
        session,
        School,
        "bin",
        [{"bin": r.bin, "name": r.name, "region": r.region, "district": r.district} for r in rows],
        report,
        saving,
    )


def _pupils(
    session: Session,
    rows: list[PupilRow],
    report: ImportReport,
    rejected: list[Rejection],
    settings: Settings,
    scope: Principal | None,
    saving: _Saving,
) -> list[tuple[int, int, int]]:
    """Upserts pupils; returns (pupil, old school, new school) of those now at another school."""
    bins = sorted({r.school_bin for r in rows})
    schools: dict[str, int] = {}
    for chunk in chunks(bins, CHUNK):
        schools.update(
            {b: i for b, i in session.execute(select(School.bin, School.id).where(School.bin.in_(chunk)))}
        )
    good: list[dict[str, Any]] = []
    for r in rows:
        school_id = schools.get(r.school_bin)
        if school_id is None:
            rejected.append(
                Rejection(r.row, RejectReason.SCHOOL_UNKNOWN, f"no school with BIN {r.school_bin}")
            )
            continue
        if scope is not None and school_id not in scope.school_ids:
            rejected.append(
                Rejection(r.row, RejectReason.OUT_OF_SCOPE, f"school {r.school_bin} is not yours")
            )
            continue
        good.append(
            {
                "iin": r.iin,
                "full_name": r.full_name,
                "grade": r.grade,
                "class_name": r.class_name,
                "school_id": school_id,
                "pseudonym": pseudonym_for(settings.pseudonym_secret, r.iin),
                "display": display_for(r.full_name, r.class_name),
            }
        )
    saving.add(len(rows) - len(good))  # refused for their school: done with
    before = _current(session, Pupil, [g["iin"] for g in good], Pupil.school_id)
    ids = _upsert(session, Pupil, "iin", good, report, saving)
    return [
        (ids[g["iin"]], before[g["iin"]], g["school_id"])
        for g in good
        if g["iin"] in before and before[g["iin"]] != g["school_id"]
    ]


def _current(session: Session, model: type[Any], iins: list[str], column: Any) -> dict[str, Any]:
    """iin → the column's value now, for rows about to be upserted."""
    out: dict[str, Any] = {}
    for chunk in chunks(sorted(set(iins)), CHUNK):
        out.update(
            {
                iin: value
                for iin, value in session.execute(select(model.iin, column).where(model.iin.in_(chunk)))
            }
        )
    return out


def _parents(session: Session, rows: list[ParentRow], report: ImportReport, saving: _Saving) -> list[int]:
    """Upserts parents; returns those whose phone number arrived or changed."""
    before = _current(session, Parent, [r.iin for r in rows], Parent.phone)
    ids = _upsert(
        session,
        Parent,
        "iin",
        [{"iin": r.iin, "full_name": r.full_name, "phone": r.phone, "language": r.language} for r in rows],
        report,
        saving,
    )
    return sorted(ids[r.iin] for r in rows if r.phone and before.get(r.iin, r.phone) != r.phone)


def _links(
    session: Session,
    rows: list[LinkRow],
    report: ImportReport,
    rejected: list[Rejection],
    scope: Principal | None,
    saving: _Saving,
) -> list[int]:
    """Adds links (a role change updates the link); returns pupils that got a link they lacked."""
    pupils: dict[str, int] = {}
    parents: dict[str, int] = {}
    for chunk in chunks(sorted({r.pupil_iin for r in rows}), CHUNK):
        stmt = select(Pupil.iin, Pupil.id).where(Pupil.iin.in_(chunk))
        if scope is not None:  # a pupil of another district reads as unknown
            stmt = stmt.where(Pupil.school_id.in_(sorted(scope.school_ids)))
        pupils.update({iin: i for iin, i in session.execute(stmt)})
    for chunk in chunks(sorted({r.parent_iin for r in rows}), CHUNK):
        parents.update(
            {iin: i for iin, i in session.execute(select(Parent.iin, Parent.id).where(Parent.iin.in_(chunk)))}
        )
    existing: dict[tuple[int, int], Guardianship] = {}
    for pupil_ids in chunks(sorted(set(pupils.values())), CHUNK):
        for link in session.scalars(select(Guardianship).where(Guardianship.pupil_id.in_(pupil_ids))):
            existing[(link.pupil_id, link.parent_id)] = link
    new: list[dict[str, Any]] = []
    for r in rows:
        pupil_id, parent_id = pupils.get(r.pupil_iin), parents.get(r.parent_iin)
        if pupil_id is None:
            rejected.append(Rejection(r.row, RejectReason.PUPIL_UNKNOWN, "pupil not imported yet"))
            continue
        if parent_id is None:
            rejected.append(Rejection(r.row, RejectReason.PARENT_UNKNOWN, "parent not imported yet"))
            continue
        g = existing.get((pupil_id, parent_id))
        if g is None:
            new.append({"pupil_id": pupil_id, "parent_id": parent_id, "role": r.role})
            report.created += 1
        elif g.role != r.role:
            g.role = r.role
            report.updated += 1
        else:
            report.unchanged += 1
    saving.add(len(rows) - len(new))
    for part in chunks(new, CHUNK):
        bulk_insert(session, Guardianship, part)
        saving.add(len(part))
    return sorted({n["pupil_id"] for n in new})
