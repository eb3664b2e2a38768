"""The district admin's imports: upload an export file, watch its progress (the page may be left and
opened again), and download the report of rejected rows. backend.imports.jobs runs `run_import`."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response

from backend.auth import Role
from backend.deps import UowDep, dispatch_sms_after_response
from backend.errors import CommonReason, DomainError
from backend.imports import jobs
from backend.imports.api import MAX_UPLOAD
from backend.imports.model import ImportKind, ImportReason

from .. import security
from ..forms import FormDep, PageDep
from ..pages import finish, redirect
from .common import ConsoleRoute, show, staff
from .words import IMPORT_KINDS, IMPORT_PHASES

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/staff/imports")
def imports(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    return show(
        pc,
        me,
        "console/imports.html",
        jobs=jobs.jobs(uow.session, me, pc.ctx.clock.now()),
        kinds=IMPORT_KINDS,
        kind_options=[(k, pc.gettext(v)) for k, v in IMPORT_KINDS.items()],
    )


@router.post("/staff/imports")
async def upload(request: Request, pc: PageDep, uow: UowDep, background: BackgroundTasks) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    form = await request.form(max_part_size=MAX_UPLOAD)
    token = form.get(security.CSRF_FIELD)
    security.check_csrf(request, pc.ctx.settings.web, token if isinstance(token, str) else None)
    kind, upload = form.get("kind"), form.get("file")
    if kind not in IMPORT_KINDS or isinstance(upload, str) or upload is None:
        raise DomainError(CommonReason.CHOOSE_ONE, "choose the kind of file and the file")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise DomainError(ImportReason.TOO_LARGE, f"at most {MAX_UPLOAD} bytes")
    ctx = pc.ctx
    job_id = jobs.submit(
        uow, me, ImportKind(str(kind)), upload.filename or "upload.csv", data, ctx.clock.now()
    )
    background.add_task(jobs.run, ctx.session_factory, job_id, me, settings=ctx.settings, clock=ctx.clock)
    dispatch_sms_after_response(background, ctx)  # consent resumed by new parent links sends SMS
    return redirect(pc, f"/staff/imports/{job_id}")


@router.get("/staff/imports/{job_id}")
def job(job_id: int, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    view = jobs.job(uow.session, me, job_id, pc.ctx.clock.now())
    return show(pc, me, "console/import_job.html", job=view, kinds=IMPORT_KINDS, phases=IMPORT_PHASES)


@router.post("/staff/imports/{job_id}/restart")
def restart(job_id: int, pc: PageDep, form: FormDep, uow: UowDep, background: BackgroundTasks) -> Response:
    """An interrupted import starts again from its file (the same runner as an upload)."""
    me = staff(pc, Role.DISTRICT_ADMIN)
    ctx = pc.ctx
    jobs.restart(uow, me, job_id, ctx.clock.now())
    background.add_task(jobs.run, ctx.session_factory, job_id, me, settings=ctx.settings, clock=ctx.clock)
    dispatch_sms_after_response(background, ctx)
    return redirect(pc, f"/staff/imports/{job_id}")


@router.get("/staff/imports/{job_id}/rejected.csv")
def rejected(job_id: int, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    body = jobs.rejected_csv(uow.session, me, job_id)
    return finish(
        pc,
        Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="rejected-{job_id}.csv"'},
        ),
    )
