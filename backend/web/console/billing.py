"""Acts of completed work and timesheets: the head and the district sign the act; the supplier reads
its linked schools' acts and timesheets (no pupils' names) and its ratings and complaints. Downloads
are the API's documents (CSV, XLSX, PDF). Services: backend.billing, backend.feedback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from fastapi import APIRouter, Response
from sqlalchemy import select

from backend.auth import Role, ensure_school
from backend.billing import services as billing
from backend.billing.documents import act_document, timesheet_document
from backend.billing.exports import MEDIA_TYPES, ExportFormat, render
from backend.billing.model import BillingError, due_date, parse_month
from backend.clock import local_date
from backend.deps import UowDep
from backend.errors import DomainError, not_found
from backend.feedback import services as feedback
from backend.roster.tables import School

from ..forms import FormDep, PageDep
from ..pages import finish, redirect
from .common import PAGE, ConsoleRoute, page_number, paged, show, staff

T = TypeVar("T")
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
READERS = (Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SUPPLIER)
SIGNERS = (Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD)
NAME_ROLES = frozenset(SIGNERS)  # a supplier sees the terminals' display strings, never names


def _month(pc: PageDep) -> date:
    text = pc.request.query_params.get("month", "")
    if text:
        try:
            return parse_month(text)
        except BillingError as exc:
            raise DomainError(exc.reason, exc.detail) from exc
    today = local_date(pc.ctx.clock.now())
    last = today.replace(day=1).toordinal() - 1  # last month: its act is the one to sign
    return date.fromordinal(last).replace(day=1)


def _priced(call: Callable[[], T]) -> T:
    """A missing tariff or unknown plan: the act cannot be priced until the data is fixed (as the API)."""
    try:
        return call()
    except BillingError as exc:
        raise DomainError(exc.reason, exc.detail) from exc


@router.get("/staff/acts")
def acts(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *READERS)
    month = _month(pc)
    names = dict(
        uow.session.execute(select(School.id, School.name).where(School.id.in_(sorted(me.school_ids)))).all()
    )
    # A page of schools at a time: each act is computed from the month's meals when it is shown.
    ordered = sorted(me.school_ids, key=lambda s: (names.get(s, ""), s))
    page = page_number(pc)
    shown = ordered[(page - 1) * PAGE : page * PAGE]
    views = _priced(lambda: billing.current_acts(uow, shown, month, pc.ctx.clock.now()))
    return show(
        pc,
        me,
        "console/acts.html",
        found=paged([(s, views[s]) for s in shown if s in views], len(ordered), page),
        names=names,
        month=month,
        without=[s for s in shown if s not in views],
    )


@router.get("/staff/acts/{school_id}")
def act(school_id: int, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *READERS)
    ensure_school(me, school_id)
    month = _month(pc)
    view = _priced(lambda: billing.current_act(uow, school_id, month, pc.ctx.clock.now()))
    ts = billing.timesheet(uow.session, school_id, month, names_shown=me.role in NAME_ROLES)
    return show(
        pc,
        me,
        "console/act.html",
        view=view,
        ts=ts,
        month=month,
        due=due_date(month),
        school_id=school_id,
        can_sign=me.role in SIGNERS,
        formats=[f.value for f in ExportFormat],
    )


@router.post("/staff/acts/{school_id}/sign")
def sign(school_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, *SIGNERS)
    ensure_school(me, school_id)
    month = parse_month(form.get("month", "")) if form.get("month") else _month(pc)
    version = form.get("version", "")
    if not version.isdigit():
        raise not_found("act version")
    billing.sign_off(uow, school_id, month, int(version), me.id, pc.ctx.clock.now())
    return redirect(pc, f"/staff/acts/{school_id}?month={month:%Y-%m}&done=signed")


def _download(pc: PageDep, body: bytes, fmt: ExportFormat, name: str) -> Response:
    response = Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )
    return finish(pc, response)


def _format(text: str) -> ExportFormat:
    try:
        return ExportFormat(text)
    except ValueError:
        raise not_found("format") from None


@router.get("/staff/acts/{school_id}/act.{fmt}")
def act_file(school_id: int, fmt: str, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *READERS)
    ensure_school(me, school_id)
    out, month = _format(fmt), _month(pc)
    view = _priced(lambda: billing.current_act(uow, school_id, month, pc.ctx.clock.now()))
    body = render(act_document(view.act, version=view.version), out)
    return _download(pc, body, out, f"act-{school_id}-{month:%Y-%m}-v{view.version or 0}")


@router.get("/staff/acts/{school_id}/timesheet.{fmt}")
def timesheet_file(school_id: int, fmt: str, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *READERS)
    ensure_school(me, school_id)
    out, month = _format(fmt), _month(pc)
    ts = billing.timesheet(uow.session, school_id, month, names_shown=me.role in NAME_ROLES)
    return _download(pc, render(timesheet_document(ts), out), out, f"timesheet-{school_id}-{month:%Y-%m}")


@router.get("/staff/ratings")
def ratings(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SUPPLIER)
    summary = (
        feedback.supplier_ratings(uow.session, me.supplier_id, me.school_ids)
        if me.supplier_id is not None
        else None
    )
    complaints = feedback.complaints(uow.session, me, None)
    return show(pc, me, "console/ratings.html", summary=summary, rows=complaints, resolvable=False)
