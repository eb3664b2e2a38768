"""Acts of completed work, timesheets and the money steps of the 2026 order: the social pedagogue
submits the month's timesheet, the head signs the act, the supplier signs it, the district accepts it;
every page shows the act's step, what is late, and the audited history of its steps. The supplier reads
its linked schools' acts and timesheets (no pupils' names) and its ratings and complaints. Downloads
are the API's documents (CSV, XLSX, PDF). Services: backend.billing (steps, services), backend.feedback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from fastapi import APIRouter, Response
from sqlalchemy import select

from backend.auth import Principal, Role, ensure_school
from backend.billing import services as billing
from backend.billing import steps
from backend.billing.documents import act_document, timesheet_document
from backend.billing.exports import MEDIA_TYPES, ExportFormat, render
from backend.billing.model import BillingError, parse_month
from backend.clock import local_date
from backend.deps import UowDep
from backend.errors import CommonReason, DomainError, not_found
from backend.feedback import services as feedback
from backend.roster.suppliers import suppliers_for_month
from backend.roster.tables import School

from ..forms import FormDep, PageDep
from ..pages import finish, redirect
from . import words
from .common import PAGE, ConsoleRoute, page_number, paged, school_of, show, staff

T = TypeVar("T")
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
READERS = (Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SUPPLIER)
STEP_DOERS = (Role.SOCIAL_PEDAGOGUE, *READERS)  # each does its own step: steps.WHO, checked by the service
# a supplier sees the terminals' display strings, never names
NAME_ROLES = frozenset((Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SOCIAL_PEDAGOGUE))


def parse_month_field(text: str) -> date:
    try:
        return parse_month(text)
    except BillingError as exc:
        raise DomainError(exc.reason, exc.detail) from exc


def month_of(pc: PageDep) -> date:
    """`?month=`, else last month: its act is the one the steps are about."""
    text = pc.request.query_params.get("month", "")
    if text:
        return parse_month_field(text)
    today = local_date(pc.ctx.clock.now())
    last = today.replace(day=1).toordinal() - 1  # last month: its act is the one to sign
    return date.fromordinal(last).replace(day=1)


def _priced(call: Callable[[], T]) -> T:
    """A missing tariff or unknown plan: the act cannot be priced until the data is fixed (as the API)."""
    try:
        return call()
    except BillingError as exc:
        raise DomainError(exc.reason, exc.detail) from exc


@dataclass(frozen=True, slots=True)
class StepsPanel:
    """The act's money steps as a page shows them."""

    state: steps.StepState | None  # None while the month runs (no stored version yet)
    history: list[steps.StepRecord]
    signed_before: int | None  # an earlier version the head signed, replaced by a late batch
    mine: str | None  # the next step when it is the signed-in role's to do


def _panel(uow: UowDep, me: Principal, school_id: int, month: date, pc: PageDep) -> StepsPanel:
    found = steps.states(uow.session, [school_id], month, pc.ctx.clock.now())
    state = found[0] if found else None
    hist = steps.history(uow.session, school_id, month)
    nxt = state.next_step if state else None
    mine = nxt if nxt is not None and steps.WHO.get(steps.Step(nxt)) is me.role else None
    return StepsPanel(state, hist, steps.signed_before(hist, state.version) if state else None, mine)


@router.get("/staff/acts")
def acts(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *READERS)
    month, now = month_of(pc), pc.ctx.clock.now()
    query = pc.request.query_params
    waiting, flag = query.get("waiting", ""), query.get("flag", "")
    names = dict(
        uow.session.execute(select(School.id, School.name).where(School.id.in_(sorted(me.school_ids)))).all()
    )
    everyone = sorted(me.school_ids, key=lambda s: (names.get(s, ""), s))
    contractor = suppliers_for_month(uow.session, everyone, month)  # a school without one has no act
    ordered = [s for s in everyone if s in contractor]
    if waiting or flag:
        # A filter reads the stored acts' steps (two queries for a district; the worker stores last
        # month's acts each morning), so only the page shown is computed from the month's meals.
        stored = steps.states(uow.session, ordered, month, now)
        kept = {s.school_id for s in steps.matching(stored, waiting=waiting, flag=flag)}
        ordered = [s for s in ordered if s in kept]
    page = page_number(pc)
    shown = ordered[(page - 1) * PAGE : page * PAGE]
    views = _priced(lambda: steps.current_acts(uow, shown, month, now))
    by_school = {s.school_id: s for s in steps.states(uow.session, views, month, now)}
    rows = [(s, views[s], by_school.get(s)) for s in shown if s in views]
    return show(
        pc,
        me,
        "console/acts.html",
        found=paged(rows, len(ordered), page, PAGE),
        names=names,
        month=month,
        waiting=waiting,
        flag=flag,
        waiting_options=[(k, pc.gettext(words.WAITING[k])) for k in words.WAITING],
        flag_options=[(k, pc.gettext(words.STEP_FLAGS[k])) for k in steps.FLAGS],
        without=[s for s in everyone if s not in contractor],
    )


@router.get("/staff/acts/{school_id}")
def act(school_id: int, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *READERS)
    ensure_school(me, school_id)
    month = month_of(pc)
    view = _priced(lambda: steps.current_act(uow, school_id, month, pc.ctx.clock.now()))
    ts = billing.timesheet(uow.session, school_id, month, names_shown=me.role in NAME_ROLES)
    return show(
        pc,
        me,
        "console/act.html",
        view=view,
        ts=ts,
        month=month,
        school_id=school_id,
        panel=_panel(uow, me, school_id, month, pc),
        formats=[f.value for f in ExportFormat],
    )


@router.get("/staff/timesheet")
def timesheet(pc: PageDep, uow: UowDep) -> Response:
    """The social pedagogue's month: the school's timesheet, submitted by the 5th."""
    me = staff(pc, Role.SOCIAL_PEDAGOGUE)
    school_id, month = school_of(pc, me), month_of(pc)
    views = _priced(lambda: steps.current_acts(uow, [school_id], month, pc.ctx.clock.now()))
    schools = [
        (i, n)
        for i, n in uow.session.execute(
            select(School.id, School.name).where(School.id.in_(sorted(me.school_ids))).order_by(School.name)
        )
    ]
    return show(
        pc,
        me,
        "console/timesheet.html",
        ts=billing.timesheet(uow.session, school_id, month, names_shown=True),
        month=month,
        school_id=school_id,
        schools=schools,
        has_act=school_id in views,
        panel=_panel(uow, me, school_id, month, pc),
        formats=[f.value for f in ExportFormat],
    )


@router.post("/staff/acts/{school_id}/steps")
def do_step(school_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    """The one way a step is done from the console (the head's is also the act's sign-off):
    `steps.advance` checks the order, the role and the version, and audits the step."""
    me = staff(pc, *STEP_DOERS)
    ensure_school(me, school_id)
    month = parse_month_field(form.get("month", ""))
    version, step = form.get("version", ""), form.get("step", "")
    if not version.isdigit():
        raise not_found("act version")
    if step not in steps.WHO:
        raise DomainError(CommonReason.CHOOSE_ONE, "choose a step")
    steps.advance(uow, me, school_id, month, int(version), steps.Step(step), pc.ctx.clock.now())
    if me.role is Role.SOCIAL_PEDAGOGUE:
        return redirect(pc, f"/staff/timesheet?school={school_id}&month={month:%Y-%m}&done={step}")
    return redirect(pc, f"/staff/acts/{school_id}?month={month:%Y-%m}&done={step}")


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
    out, month = _format(fmt), month_of(pc)
    view = _priced(lambda: steps.current_act(uow, school_id, month, pc.ctx.clock.now()))
    body = render(act_document(view.act, version=view.version), out)
    return _download(pc, body, out, f"act-{school_id}-{month:%Y-%m}-v{view.version or 0}")


@router.get("/staff/acts/{school_id}/timesheet.{fmt}")
def timesheet_file(school_id: int, fmt: str, pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *STEP_DOERS)
    ensure_school(me, school_id)
    out, month = _format(fmt), month_of(pc)
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
    return show(pc, me, "console/ratings.html", summary=summary, rows=complaints)
