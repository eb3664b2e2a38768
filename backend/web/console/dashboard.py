"""The district admin's dashboard. Every chart is drawn from the query its report uses: meals per day
and school, coverage and held meals from the daily report (backend.reporting), last month's acts by
money step with the overdue and late counts from the states the acts list shows (backend.billing.steps),
terminals offline for more than a day from the fleet view."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from backend.auth import Principal, Role
from backend.billing import steps
from backend.clock import local_date
from backend.deps import UowDep
from backend.fleet import services as fleet
from backend.reporting.model import DailyReport
from backend.reporting.services import daily_report

from ..forms import PageDep
from .charts import Chart, bar_chart
from .common import ConsoleRoute, show, staff
from .school import OFFLINE_AFTER_S
from .words import WAITING

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
DAYS = 14


@dataclass(frozen=True, slots=True)
class Dashboard:
    days: list[date]
    reports: list[DailyReport]
    meals_per_day: Chart
    meals_per_school: Chart
    coverage: Chart
    held: Chart
    acts: Chart
    month: date  # the acts' month: last month
    steps: steps.StepSummary
    offline: list[tuple[str, int, datetime | None]]  # school, terminal, last seen


def dashboard(session: Session, me: Principal, now: datetime, *, days: int = DAYS) -> Dashboard:
    today = local_date(now)
    span = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    schools = sorted(me.school_ids)
    # Only today's coverage reads the vouchers: the earlier days' reports are read for their meals.
    reports = [daily_report(session, d, schools, now, voucher_figures=d == today) for d in span]
    last = reports[-1]
    per_day = [(f"{r.day:%d.%m}", sum(s.meals_served for s in r.schools)) for r in reports]
    names = {s.school_id: s.school_name for s in last.schools}
    per_school = Counter[int]()
    for r in reports:
        for s in r.schools:
            per_school[s.school_id] += s.meals_served
    coverage = [
        (s.school_name, s.meals_served / s.active_vouchers if s.active_vouchers else 0.0)
        for s in last.schools
    ]
    held = [(f"{r.day:%d.%m}", sum(s.flagged_held for s in r.schools)) for r in reports]
    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    money = steps.summary(steps.states(session, schools, month, now))
    offline = []
    terminals = fleet.fleet_views(session, schools)
    for sid in schools:
        for t in terminals.get(sid, ()):
            if t.last_seen is None or (now - t.last_seen).total_seconds() > OFFLINE_AFTER_S:
                offline.append((names.get(sid, str(sid)), t.terminal_id, t.last_seen))
    return Dashboard(
        span,
        reports,
        bar_chart("meals_per_day", per_day),
        bar_chart("meals_per_school", [(names.get(k, str(k)), v) for k, v in sorted(per_school.items())]),
        bar_chart("coverage", coverage, percent=True),
        bar_chart("held", held),
        bar_chart("acts", [(WAITING[k], n) for k, n in money.waiting], translate=True),
        month,
        money,
        offline,
    )


@router.get("/staff/dashboard")
def page(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    return show(pc, me, "console/dashboard.html", d=dashboard(uow.session, me, pc.ctx.clock.now()))
