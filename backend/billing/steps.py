"""The money steps of the 2026 order for each school's month, per act version:

    timesheet generated (worker, after month end) → social pedagogue submits (by the 5th) → school head
    signs → supplier signs the act of completed work → district accepts → sent for payment (register)

Each step is a row of `billing_steps` (who, when, due date, late), so the path is audited; a step done
after its due date is `late`, a step still open after it is overdue on the console. A late batch that
changes the figures makes a new act version (`produce_acts`), whose steps start again from the
timesheet: what was signed stays readable as signed, the new version must be signed again.

Due dates count from the version's generation: for a version made on the 1st they are the 5th (the
order's timesheet date), the 7th, 10th and 15th; a later version gets the same number of days.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth.accounts import login_of
from backend.auth.model import Principal, Role
from backend.clock import local_date
from backend.errors import DomainError, not_found
from backend.roster.tables import School
from backend.unit_of_work import UnitOfWork

from .model import month_end
from .services import ActView, produce_act, produce_acts, sign_off
from .tables import ActRow, BillingStepRow


class Step(StrEnum):
    GENERATED = "generated"
    SUBMITTED = "submitted"
    HEAD_SIGNED = "head_signed"
    SUPPLIER_SIGNED = "supplier_signed"
    DISTRICT_ACCEPTED = "district_accepted"
    SENT_FOR_PAYMENT = "sent_for_payment"


ORDER = tuple(Step)
WHO = {
    Step.SUBMITTED: Role.SOCIAL_PEDAGOGUE,
    Step.HEAD_SIGNED: Role.SCHOOL_HEAD,
    Step.SUPPLIER_SIGNED: Role.SUPPLIER,
    Step.DISTRICT_ACCEPTED: Role.DISTRICT_ADMIN,
}
# days after the version's generation day (the 1st → the 5th, 7th, 10th, 15th)
DUE_AFTER = {
    Step.GENERATED: 0,
    Step.SUBMITTED: 4,
    Step.HEAD_SIGNED: 6,
    Step.SUPPLIER_SIGNED: 9,
    Step.DISTRICT_ACCEPTED: 14,
    Step.SENT_FOR_PAYMENT: 14,
}


class StepReason(StrEnum):
    STEP_OUT_OF_ORDER = "STEP_OUT_OF_ORDER"
    STEP_DONE = "STEP_DONE"
    STALE_VERSION = "STALE_VERSION"
    WRONG_ROLE = "STEP_WRONG_ROLE"


def _latest(session: Session, school_id: int, month: date) -> ActRow | None:
    stmt = (
        select(ActRow)
        .where(ActRow.school_id == school_id, ActRow.month == month)
        .order_by(ActRow.version.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _done(session: Session, school_id: int, month: date, version: int) -> dict[str, BillingStepRow]:
    stmt = select(BillingStepRow).where(
        BillingStepRow.school_id == school_id,
        BillingStepRow.month == month,
        BillingStepRow.version == version,
    )
    return {r.step: r for r in session.scalars(stmt)}


def _record(session: Session, act: ActRow, step: Step, actor: str, now: datetime) -> BillingStepRow:
    due = local_date(act.generated_at) + timedelta(days=DUE_AFTER[step])
    row = BillingStepRow(
        school_id=act.school_id,
        month=act.month,
        version=act.version,
        step=step,
        actor=actor,
        at=now,
        due_on=due,
        late=local_date(now) > due,
    )
    session.add(row)
    session.flush()
    return row


def _record_generated(session: Session, school_ids: Collection[int], month: date, now: datetime) -> int:
    """The GENERATED step of each school's stored latest version that lacks it."""
    recorded = 0
    for school_id in sorted(school_ids):
        act = _latest(session, school_id, month)
        if act is not None and Step.GENERATED not in _done(session, school_id, month, act.version):
            _record(session, act, Step.GENERATED, "system", now)
            recorded += 1
    return recorded


def generate(session: Session, school_ids: Collection[int], month: date, now: datetime) -> int:
    """The worker after month end: every school's act (a new version when late data changed the
    figures) and the GENERATED step of each version that lacks it. Returns steps recorded."""
    if local_date(now) <= month_end(month):
        return 0
    return _record_generated(session, produce_acts(session, school_ids, month, now), month, now)


def current_acts(
    uow: UnitOfWork, school_ids: Collection[int], month: date, now: datetime
) -> dict[int, ActView]:
    """The month's current act of each school (pages and API): a new version is stored when the figures
    changed (`produce_acts`) and gets its GENERATED step at once, as the worker would give it, so its
    steps can start before the worker's next run. Committed."""
    views = produce_acts(uow.session, school_ids, month, now)
    if local_date(now) > month_end(month):
        _record_generated(uow.session, views, month, now)
    uow.commit()
    return views


def current_act(uow: UnitOfWork, school_id: int, month: date, now: datetime) -> ActView:
    """One school's act as `current_acts` gives it; `NO_SUPPLIER` when no supplier serves it then."""
    view = produce_act(uow.session, school_id, month, now)
    if view.version is not None:
        _record_generated(uow.session, [school_id], month, now)
    uow.commit()
    return view


def advance(
    uow: UnitOfWork,
    principal: Principal,
    school_id: int,
    month: date,
    version: int,
    step: Step,
    now: datetime,
) -> StepState:
    """One person's step on the latest version, in order; the head's step is also the act's sign-off.
    Returns the act's steps as the console shows them."""
    session = uow.session
    if school_id not in principal.school_ids:
        raise not_found("school")
    if step not in WHO:
        raise DomainError(StepReason.STEP_OUT_OF_ORDER, f"{step} is the system's step")
    if principal.role is not WHO[step]:
        raise DomainError(StepReason.WRONG_ROLE, f"{step} is for the {WHO[step]}")
    act = _latest(session, school_id, month)
    if act is None or act.version != version:
        raise DomainError(StepReason.STALE_VERSION, f"version {version} is not the latest act of the month")
    done = _done(session, school_id, month, version)
    if step in done:
        raise DomainError(StepReason.STEP_DONE, f"{step} was done on {done[step].at:%Y-%m-%d}")
    before = ORDER[ORDER.index(step) - 1]
    if before not in done:
        raise DomainError(StepReason.STEP_OUT_OF_ORDER, f"{before} comes first")
    _record(session, act, step, f"admin:{principal.id}", now)
    if step is Step.HEAD_SIGNED:
        sign_off(uow, school_id, month, version, principal.id, now)  # commits the step with the signature
    [state] = states(session, [school_id], month, now)
    uow.commit()
    return state


def mark_sent(session: Session, act: ActRow, now: datetime) -> None:
    if Step.SENT_FOR_PAYMENT not in _done(session, act.school_id, act.month, act.version):
        _record(session, act, Step.SENT_FOR_PAYMENT, "system", now)


@dataclass(frozen=True, slots=True)
class StepState:
    school_id: int
    month: date
    version: int
    done: tuple[tuple[str, str, datetime, bool], ...]  # step, actor, at, late
    next_step: str | None
    next_due: date | None
    overdue: bool

    @property
    def late(self) -> bool:
        """A step of this version was done after its due date."""
        return any(late for _s, _a, _at, late in self.done)


def _latest_of(session: Session, school_ids: Collection[int], month: date) -> dict[int, ActRow]:
    """Each school's latest stored version of the month, in one query."""
    if not school_ids:
        return {}
    top = (
        select(ActRow.school_id, func.max(ActRow.version).label("version"))
        .where(ActRow.school_id.in_(sorted(school_ids)), ActRow.month == month)
        .group_by(ActRow.school_id)
        .subquery()
    )
    stmt = (
        select(ActRow)
        .join(top, (ActRow.school_id == top.c.school_id) & (ActRow.version == top.c.version))
        .where(ActRow.month == month)
    )
    return {row.school_id: row for row in session.scalars(stmt)}


def latest_with_steps(
    session: Session, school_ids: Collection[int], month: date
) -> dict[int, tuple[ActRow, dict[str, BillingStepRow]]]:
    """Each school's latest stored version of the month and the steps done on it, in two queries for
    any number of schools (the acts list, the dashboard and the payment register read it)."""
    latest = _latest_of(session, school_ids, month)
    done: dict[int, dict[str, BillingStepRow]] = {s: {} for s in latest}
    if latest:
        stmt = select(BillingStepRow).where(
            BillingStepRow.school_id.in_(sorted(latest)), BillingStepRow.month == month
        )
        for r in session.scalars(stmt):
            if r.version == latest[r.school_id].version:
                done[r.school_id][r.step] = r
    return {s: (latest[s], done[s]) for s in latest}


def states(session: Session, school_ids: Collection[int], month: date, now: datetime) -> list[StepState]:
    """The console's view: each school's latest version, its steps, the next one and whether it is late."""
    today = local_date(now)
    found = latest_with_steps(session, school_ids, month)
    out = []
    for school_id in sorted(found):
        act, rows = found[school_id]
        nxt = next((s for s in ORDER if s not in rows), None)
        due = local_date(act.generated_at) + timedelta(days=DUE_AFTER[nxt]) if nxt else None
        out.append(
            StepState(
                school_id,
                month,
                act.version,
                tuple((s, rows[s].actor, rows[s].at, rows[s].late) for s in ORDER if s in rows),
                nxt,
                due,
                due is not None and today > due,
            )
        )
    return out


# The acts list's filters: by the step an act waits for ("paid": none left), or by a flag.
PAID = "paid"
FLAGS = ("overdue", "late")


def matching(found: list[StepState], *, waiting: str = "", flag: str = "") -> list[StepState]:
    """The states an acts list shows for its filters (an unknown filter value matches nothing)."""
    out = found
    if waiting:
        out = [s for s in out if (s.next_step or PAID) == waiting]
    if flag:
        out = [s for s in out if flag in FLAGS and getattr(s, flag)]
    return out


@dataclass(frozen=True, slots=True)
class StepSummary:
    acts: int
    overdue: int
    late: int
    waiting: tuple[tuple[str, int], ...]  # (the step waited for, or PAID; acts), in the steps' order


def summary(found: list[StepState]) -> StepSummary:
    """The dashboard's figures over the same states the acts list shows."""
    keys = [s.value for s in ORDER[1:]] + [PAID]
    counts = {k: sum(1 for s in found if (s.next_step or PAID) == k) for k in keys}
    return StepSummary(
        len(found),
        sum(1 for s in found if s.overdue),
        sum(1 for s in found if s.late),
        tuple((k, n) for k, n in counts.items() if n),
    )


@dataclass(frozen=True, slots=True)
class StepRecord:
    version: int
    step: str
    who: str | None  # the staff member's login; None for the system's steps
    at: datetime
    due_on: date
    late: bool


def history(session: Session, school_id: int, month: date) -> list[StepRecord]:
    """Every step of every version of one school's month, as audited (oldest version first)."""
    stmt = select(BillingStepRow).where(BillingStepRow.school_id == school_id, BillingStepRow.month == month)
    rows = sorted(session.scalars(stmt), key=lambda r: (r.version, ORDER.index(Step(r.step))))
    logins: dict[str, str] = {}
    out = []
    for r in rows:
        who = None
        if r.actor.startswith("admin:"):
            if r.actor not in logins:
                logins[r.actor] = login_of(session, int(r.actor.removeprefix("admin:")))
            who = logins[r.actor]
        out.append(StepRecord(r.version, r.step, who, r.at, r.due_on, r.late))
    return out


def signed_before(found: list[StepRecord], version: int) -> int | None:
    """The latest earlier version the head signed: a late batch replaced it, so `version` must be
    signed again. None when no earlier version was signed."""
    signed = [r.version for r in found if r.step == Step.HEAD_SIGNED and r.version < version]
    return max(signed) if signed else None


def district_schools(session: Session, district: str) -> list[int]:
    return list(session.scalars(select(School.id).where(School.district == district).order_by(School.id)))
