"""Imports as background jobs (progress, rejected rows as CSV, other districts see nothing), and the
month's list: returned with a comment, started from last month, a class added at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
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
from backend.imports.model import ImportKind
from backend.imports.services import run_import
from backend.imports.tables import ImportJob
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


def test_an_import_job_reports_progress_and_its_rejected_rows(
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
    rows += [f"{n:012d},Pupil {n},3,3A,100000000001" for n in range(2500)]  # most fail the IIN checksum
    with uow_factory() as uow:
        job_id = jobs.submit(uow, me, ImportKind.PUPILS, "pupils.csv", "\n".join(rows).encode(), clock.now())
    with uow_factory() as uow:
        assert jobs.job(uow.session, me, job_id).status == "queued"
    seen: list[tuple[int, int]] = []
    real_run = run_import

    def spy(*args: object, **kwargs: object) -> object:
        progress = kwargs["progress"]

        def record(done: int, total: int) -> None:
            progress(done, total)  # type: ignore[operator]
            with uow_factory() as uow:  # written where the page reads it, while the import runs
                row = uow.session.get(ImportJob, job_id)
                assert row is not None
                seen.append((row.done, row.total))

        return real_run(*args, **{**kwargs, "progress": record})  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "run_import", spy)
    jobs.run(ctx.session_factory, job_id, me, settings=ctx.settings, clock=clock)
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]
    with uow_factory() as uow:
        view = jobs.job(uow.session, me, job_id)
        assert (view.status, view.percent) == ("done", 100)
        assert view.accepted is not None and view.rejected is not None
        assert view.accepted + view.rejected == 2500 and view.rejected > 2000
        report = jobs.rejected_csv(uow.session, me, job_id).decode("utf-8-sig").splitlines()
        assert report[0] == "row,reason,detail" and len(report) == view.rejected + 1
        with pytest.raises(DomainError):
            jobs.job(uow.session, other, job_id)
        assert jobs.jobs(uow.session, other) == []


def test_an_unreadable_file_fails_the_job_with_its_reason(
    ctx: AppContext, uow_factory: Callable[[], UnitOfWork], clock: FixedClock
) -> None:
    me = _principal(uow_factory, Role.DISTRICT_ADMIN, district="Almaly")
    with uow_factory() as uow:
        job_id = jobs.submit(uow, me, ImportKind.PUPILS, "pupils.xlsx", b"not a workbook", clock.now())
    jobs.run(ctx.session_factory, job_id, me, settings=ctx.settings, clock=clock)
    with uow_factory() as uow:
        view = jobs.job(uow.session, me, job_id)
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
