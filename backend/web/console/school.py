"""A school's day-to-day pages: the head's queue of flagged meals (reason, evidence, accept or reject),
the school's terminals (last sync, clock offset, backlog, version, faults) and enrolment codes, and the
canteen's list of today's served meals by slot. Services: backend.ingest, backend.fleet (the API's)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from fastapi import APIRouter, Response
from sqlalchemy import select

from backend.auth import Role, ensure_school
from backend.clock import local_date
from backend.deps import UowDep
from backend.errors import not_found
from backend.fleet import services as fleet
from backend.ingest import queries as meals
from backend.ingest import review
from backend.ingest.model import Decision
from backend.roster.tables import Pupil, School

from ..forms import FormDep, PageDep
from ..pages import redirect
from ..texts import MEAL, MEAL_SLOTS
from .common import PAGE, ConsoleRoute, page_number, paged, school_of, show, staff

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
OFFLINE_AFTER_S = 86_400  # a terminal silent for a day is offline


def school_options(uow: UowDep, school_ids: frozenset[int]) -> list[tuple[int, str]]:
    stmt = select(School.id, School.name).where(School.id.in_(sorted(school_ids))).order_by(School.name)
    return [(i, n) for i, n in uow.session.execute(stmt)]


@router.get("/staff/flagged")
def flagged(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN)
    school_id = school_of(pc, me)
    decided = pc.request.query_params.get("decided") == "1"
    rows = review.flagged_meals(uow.session, me.school_ids, school_id=school_id, include_decided=decided)
    page = page_number(pc)
    return show(
        pc,
        me,
        "console/flagged.html",
        found=paged(rows[(page - 1) * PAGE : page * PAGE], len(rows), page),
        school_id=school_id,
        schools=school_options(uow, me.school_ids),
        decided=decided,
        slots=MEAL_SLOTS,
        meal_word=MEAL,
    )


@router.post("/staff/flagged/{event_id}")
def decide(event_id: str, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN)
    try:
        raw = bytes.fromhex(event_id)
    except ValueError:
        raw = b""
    if len(raw) != 16 or form.get("decision") not in ("accept", "reject"):
        raise not_found("meal")
    note = form.get("note", "").strip()[:300] or None
    review.decide(
        uow,
        raw,
        Decision(form["decision"]),
        admin_id=me.id,
        school_ids=me.school_ids,
        now=pc.ctx.clock.now(),
        note=note,
    )
    return redirect(pc, f"/staff/flagged?done={form['decision']}")


@router.get("/staff/terminals")
def terminals(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SCHOOL_HEAD, Role.TECHNICIAN, Role.DISTRICT_ADMIN)
    school_id = school_of(pc, me)
    now = pc.ctx.clock.now()
    rows = fleet.fleet_view(uow.session, school_id)
    offline = {
        t.terminal_id
        for t in rows
        if t.last_seen is None or (now - t.last_seen).total_seconds() > OFFLINE_AFTER_S
    }
    return show(
        pc,
        me,
        "console/terminals.html",
        rows=rows,
        offline=offline,
        school_id=school_id,
        schools=school_options(uow, me.school_ids),
        code=None,
    )


@router.post("/staff/terminals/codes")
def issue_code(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SCHOOL_HEAD, Role.TECHNICIAN, Role.DISTRICT_ADMIN)
    school = form.get("school", "")
    school_id = int(school) if school.isdigit() else 0
    ensure_school(me, school_id)
    canteen = form.get("canteen", "1")
    ctx = pc.ctx
    code = fleet.create_enrolment_code(
        uow,
        school_id=school_id,
        canteen_id=int(canteen) if canteen.isdigit() else 0,
        admin_id=me.id,
        now=ctx.clock.now(),
    )
    return show(
        pc,
        me,
        "console/terminals.html",
        status=201,
        rows=fleet.fleet_view(uow.session, school_id),
        offline=set(),
        school_id=school_id,
        schools=school_options(uow, me.school_ids),
        code=code,
        fingerprint=ctx.keys.root_public().kid.hex(),
    )


@router.get("/staff/served")
def served(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.CANTEEN_STAFF, Role.SCHOOL_HEAD)
    school_id = school_of(pc, me)
    day: date = local_date(pc.ctx.clock.now())
    rows = meals.served_on(uow.session, school_id, day)
    pupil_ids = {r.pupil_id for r in rows if r.pupil_id is not None}
    displays = select(Pupil.id, Pupil.display).where(Pupil.id.in_(sorted(pupil_ids)))
    shown = {i: d for i, d in uow.session.execute(displays)}
    counts = Counter(r.slot for r in rows if r.status != "rejected_by_admin")
    return show(
        pc,
        me,
        "console/served.html",
        rows=rows,
        shown=shown,
        counts=sorted(counts.items(), key=lambda kv: kv[0] or 0),
        day=day,
        slots=MEAL_SLOTS,
        meal_word=MEAL,
        school_id=school_id,
    )
