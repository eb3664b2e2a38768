"""Imports as background jobs (progress, rejected rows as CSV, other districts see nothing), and the
month's list: returned with a comment, started from last month, a class added at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.auth.model import Principal, Role
from backend.auth.services import admin_principal
from backend.auth.tables import Admin
from backend.auth.testing import make_admin
from backend.clock import FixedClock
from backend.context import AppContext
from backend.eligibility import services as eligibility
from backend.eligibility.model import Category, ListStatus
from backend.errors import DomainError
from backend.imports import jobs
from backend.imports.model import ImportKind, ImportPhase
from backend.imports.services import run_import
from backend.imports.tables import ImportJob
from backend.roster.iin import make_iin
from backend.roster.tables import Pupil
from backend.unit_of_work import UnitOfWork


def _principal(
    uow_factory: Callable[[], UnitOfWork],
    role: Role,
    schools: tuple[int, ...] = (),
    district: str | None = None,
) -> Principal:
    with uow_factory() as uow:
        admin_id, _ = make_admin(uow.session, role, schools, district)
        uow.commit()
        admin = uow.session.get(Admin, admin_id)
        assert admin is not None
        return admin_principal(uow.session, admin)


def test_an_import_job_reports_each_phase_and_its_rejected_rows(
    ctx: AppContext,
    uow_factory: Callable[[], UnitOfWork],
    clock: FixedClock,
    make_school: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_school(district="Almaly", bin="100000000001")
    me = _principal(uow_factory, Role.DISTRICT_ADMIN, district="Almaly")
    other = _principal(uow_factory, Role.DISTRICT_ADMIN, district="Medeu")
    rows = ["iin,full_name,grade,class_name,school_bin"]
    valid = [iin for k in range(3000) if (iin := make_iin(f"3{k + 100_000:010d}")) is not None][:2500]
    rows += [f"{iin},Pupil {n},3,3A,100000000001" for n, iin in enumerate(valid)]
    rows += [f"{n:011d},Bad {n},3,3A,100000000001" for n in range(1, 500)]  # 11 digits: not an IIN
    data = "\n".join(rows).encode()
    with uow_factory() as uow:
        job_id = jobs.submit(uow, me, ImportKind.PUPILS, "pupils.csv", data, clock.now())
    with uow_factory() as uow:
        assert jobs.job(uow.session, me, job_id, clock.now()).status == "queued"
    one_writer = ctx.engine.dialect.name == "sqlite"
    seen: list[tuple[str, int, int, int]] = []  # what the page would read: phase, done, total, percent
    real_run = run_import

    def spy(*args: object, **kwargs: object) -> object:
        progress = kwargs["progress"]

        def record(phase: ImportPhase, done: int, total: int) -> None:
            progress(phase, done, total)  # type: ignore[operator]
            if one_writer and phase is ImportPhase.SAVING and any(p == "saving" for p, *_ in seen):
                return  # SQLite's one writer is the import now: the page waits for it, like this read
            with uow_factory() as uow:  # written where the page reads it, while the import runs
                view = jobs.job(uow.session, me, job_id, clock.now())
                assert view.phase is not None
                seen.append((view.phase, view.done, view.total, view.percent))

        return real_run(*args, **{**kwargs, "progress": record})  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "run_import", spy)
    jobs.run(ctx.session_factory, job_id, me, settings=ctx.settings, clock=clock)
    phases = [p for p, *_ in seen]
    assert phases == sorted(phases, key=["parsing", "checking", "saving"].index)  # in that order
    assert set(phases) == {"parsing", "checking", "saving"}
    percents = [pc for *_, pc in seen]
    assert percents == sorted(percents) and percents[0] == 0  # one bar that only moves forward
    assert ("parsing", len(data.decode()), len(data.decode()), 10) in seen
    checked = [(d, t) for p, d, t, _ in seen if p == "checking"]
    assert checked == [(0, 2999), (1000, 2999), (2000, 2999), (2999, 2999)]
    saved = [(d, t) for p, d, t, _ in seen if p == "saving"]
    # the rows that passed the checks are saved; a second writer sees them go by on PostgreSQL
    assert saved[0] == (0, 2500)
    assert saved[1:] == ([] if one_writer else [(2000, 2500), (2500, 2500)])
    with uow_factory() as uow:
        view = jobs.job(uow.session, me, job_id, clock.now())
        assert (view.status, view.percent, view.phase) == ("done", 100, None)
        assert (view.accepted, view.rejected) == (2500, 499)
        report = jobs.rejected_csv(uow.session, me, job_id).decode("utf-8-sig").splitlines()
        assert report[0] == "row,reason,detail" and len(report) == 499 + 1
        with pytest.raises(DomainError):
            jobs.job(uow.session, other, job_id, clock.now())
        assert jobs.jobs(uow.session, other, clock.now()) == []


def test_a_job_left_running_by_a_dead_server_is_interrupted_and_starts_again(
    app: FastAPI,
    ctx: AppContext,
    uow_factory: Callable[[], UnitOfWork],
    clock: FixedClock,
    make_school: Callable[..., int],
) -> None:
    make_school(district="Almaly", bin="100000000001")
    me = _principal(uow_factory, Role.DISTRICT_ADMIN, district="Almaly")
    iin = make_iin("30000000001") or make_iin("30000000002")
    data = f"iin,full_name,grade,class_name,school_bin\n{iin},Pupil,3,3A,100000000001".encode()
    with uow_factory() as uow:
        dead, alive = (jobs.submit(uow, me, ImportKind.PUPILS, "p.csv", data, clock.now()) for _ in range(2))
        for job_id, beat in ((dead, clock.now()), (alive, clock.now() + timedelta(minutes=11))):
            row = uow.session.get(ImportJob, job_id)
            assert row is not None
            row.status, row.phase, row.heartbeat_at = "running", "checking", beat
        uow.commit()
    clock.set(clock.now() + timedelta(minutes=12))  # the dead job's last report is 12 minutes old
    with uow_factory() as uow:
        assert jobs.job(uow.session, me, dead, clock.now()).status == "interrupted"  # shown so at once
        assert jobs.job(uow.session, me, alive, clock.now()).status == "running"
        with pytest.raises(DomainError) as busy:
            jobs.restart(uow, me, alive, clock.now())
        assert busy.value.reason == "IMPORT_NOT_RESTARTABLE"
    with TestClient(app):  # a server starting marks it so for good
        pass
    with uow_factory() as uow:
        rows = {j: uow.session.get(ImportJob, j) for j in (dead, alive)}
        assert [(r.status, r.error, r.data is not None) for r in rows.values() if r is not None] == [
            ("interrupted", "IMPORT_INTERRUPTED", True),
            ("running", None, True),
        ]
    with uow_factory() as uow:
        jobs.restart(uow, me, dead, clock.now())
        assert jobs.job(uow.session, me, dead, clock.now()).status == "queued"
    jobs.run(ctx.session_factory, dead, me, settings=ctx.settings, clock=clock)
    jobs.run(ctx.session_factory, dead, me, settings=ctx.settings, clock=clock)  # a second runner: no-op
    with uow_factory() as uow:
        view = jobs.job(uow.session, me, dead, clock.now())
        assert (view.status, view.accepted, view.rejected) == ("done", 1, 0)
        with pytest.raises(DomainError) as done:
            jobs.restart(uow, me, dead, clock.now())
        assert done.value.reason == "IMPORT_NOT_RESTARTABLE"


def test_a_late_result_of_a_job_marked_interrupted_is_not_saved(
    ctx: AppContext,
    uow_factory: Callable[[], UnitOfWork],
    clock: FixedClock,
    make_school: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_school(district="Almaly", bin="100000000001")
    me = _principal(uow_factory, Role.DISTRICT_ADMIN, district="Almaly")
    iin = make_iin("30000000001") or make_iin("30000000002")
    data = f"iin,full_name,grade,class_name,school_bin\n{iin},Pupil,3,3A,100000000001".encode()
    with uow_factory() as uow:
        job_id = jobs.submit(uow, me, ImportKind.PUPILS, "p.csv", data, clock.now())
    real_run = run_import

    def slow(*args: object, **kwargs: object) -> object:
        # the runner looks dead to another process while it still works: that one marks it interrupted
        later = clock.now() + timedelta(minutes=30)
        assert jobs.reap_stale(ctx.session_factory, later) == 1
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "run_import", slow)
    jobs.run(ctx.session_factory, job_id, me, settings=ctx.settings, clock=clock)
    with uow_factory() as uow:
        assert jobs.job(uow.session, me, job_id, clock.now()).status == "interrupted"
        assert uow.session.scalar(select(Pupil.id).where(Pupil.iin == iin)) is None  # rolled back


def test_an_unreadable_file_fails_the_job_with_its_reason(
    ctx: AppContext, uow_factory: Callable[[], UnitOfWork], clock: FixedClock
) -> None:
    me = _principal(uow_factory, Role.DISTRICT_ADMIN, district="Almaly")
    with uow_factory() as uow:
        job_id = jobs.submit(uow, me, ImportKind.PUPILS, "pupils.xlsx", b"not a workbook", clock.now())
    jobs.run(ctx.session_factory, job_id, me, settings=ctx.settings, clock=clock)
    with uow_factory() as uow:
        view = jobs.job(uow.session, me, job_id, clock.now())
    assert (view.status, view.error) == ("failed", "IMPORT_MALFORMED")


def test_the_head_returns_the_list_and_the_pedagogue_builds_it_from_last_month_and_a_class(
    uow_factory: Callable[[], UnitOfWork],
    clock: FixedClock,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
) -> None:
    school = make_school()
    small = [make_pupil(school, grade=2, class_name="2A") for _ in range(3)]
    big = make_pupil(school, grade=7, class_name="7B")
    pedagogue = _principal(uow_factory, Role.SOCIAL_PEDAGOGUE, (school,))
    head = _principal(uow_factory, Role.SCHOOL_HEAD, (school,))
    with uow_factory() as uow:
        september = eligibility.create_list(uow, pedagogue, school, date(2026, 9, 1))
    with uow_factory() as uow:
        assert eligibility.add_class(uow, pedagogue, september.id, "2A", None) == 3
    with uow_factory() as uow:
        eligibility.add_entry(uow, pedagogue, september.id, big, Category.TARGETED_ASSISTANCE)
    with uow_factory() as uow, pytest.raises(DomainError) as no_comment:
        eligibility.return_list(uow, head, september.id, "  ", clock.now())
    assert no_comment.value.reason == "COMMENT_REQUIRED"
    with uow_factory() as uow:
        eligibility.approve(uow, head, september.id, clock.now())
    with uow_factory() as uow:
        back = eligibility.return_list(uow, head, september.id, "Check 7B's category", clock.now())
        assert (back.status, back.return_comment, back.approved_by) == (
            ListStatus.DRAFT,
            "Check 7B's category",
            None,
        )
    with uow_factory() as uow:
        again = eligibility.approve(uow, head, september.id, clock.now())
        assert again.return_comment is None
    with uow_factory() as uow:
        october = eligibility.create_list(uow, pedagogue, school, date(2026, 10, 1))
    with uow_factory() as uow:
        assert eligibility.copy_previous(uow, pedagogue, october.id) == 4
    with uow_factory() as uow:
        assert eligibility.copy_previous(uow, pedagogue, october.id) == 0  # already there
        _lst, rows = eligibility.list_entries(uow.session, pedagogue, october.id)
        assert sorted(p.id for _, p in rows) == sorted([*small, big])
        assert {p.id: e.category for e, p in rows}[big] == Category.TARGETED_ASSISTANCE
        ids = list(uow.session.scalars(select(Admin.id).where(Admin.role == "school_head")))
        assert head.id in ids
