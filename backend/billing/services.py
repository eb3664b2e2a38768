"""Billing use cases: the month's timesheet and act per school, act versions and sign-off, reconciliation.

Every figure comes from `meal_events` aggregated in SQL (GROUP BY day, slot, plan or pupil, day), so a
district month of a million events costs a few aggregate queries, not a Python loop over rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.calendar.services import load_calendar
from backend.calendar.services import load_tariffs as calendar_tariffs
from backend.clock import local_date
from backend.errors import DomainError, not_found
from backend.ingest import queries as meals
from backend.roster.suppliers import supplier_for_month, suppliers_for_month
from backend.roster.tables import Pupil, School, Supplier
from backend.unit_of_work import UnitOfWork

from .model import (
    Act,
    ActLine,
    ActStatus,
    MealCount,
    Party,
    PupilDayCount,
    PupilInfo,
    Reconciliation,
    Split,
    TariffBook,
    Timesheet,
    act_status,
    build_act,
    build_timesheet,
    month_end,
    reconcile,
)
from .tables import ActRow


class BillingApiReason(StrEnum):
    """Reason codes the billing services answer with (beside NOT_FOUND and the model's BillingReason)."""

    NO_SUPPLIER = "NO_SUPPLIER"
    MONTH_NOT_OVER = "MONTH_NOT_OVER"
    STALE_VERSION = "STALE_VERSION"
    ALREADY_SIGNED = "ALREADY_SIGNED"
    BAD_FORMAT = "BAD_FORMAT"


def load_tariffs(session: Session) -> TariffBook:
    return TariffBook(calendar_tariffs(session))


def meal_counts(session: Session, school_ids: Collection[int], month: date) -> dict[int, list[MealCount]]:
    out: dict[int, list[MealCount]] = defaultdict(list)
    for t in meals.billable_by_slot(session, school_ids, month, month_end(month)):
        out[t.school_id].append(MealCount(t.school_id, t.local_date, t.slot, t.plan, t.meals))
    return out


def pupil_day_counts(
    session: Session, school_ids: Collection[int], month: date
) -> dict[int, list[PupilDayCount]]:
    out: dict[int, list[PupilDayCount]] = defaultdict(list)
    for t in meals.billable_by_pupil(session, school_ids, month, month_end(month)):
        out[t.school_id].append(PupilDayCount(t.pupil_id, t.plan, t.local_date, t.meals))
    return out


def held_counts(session: Session, school_ids: Collection[int], month: date) -> dict[int, int]:
    """Meals held out of billing: flagged and not yet decided, or billable but not priceable."""
    return meals.held_from_billing(session, school_ids, month, month_end(month))


def _pupils(session: Session, school_ids: Collection[int], also: Iterable[int]) -> dict[int, PupilInfo]:
    """Pupils of these schools, plus any in `also` (meals eaten here before a move to another school)."""
    cols = select(Pupil.id, Pupil.full_name, Pupil.display, Pupil.class_name)
    found = {
        r.id: PupilInfo(r.id, r.full_name, r.display, r.class_name)
        for r in session.execute(cols.where(Pupil.school_id.in_(school_ids)))
    }
    missing = sorted(set(also) - found.keys())
    if missing:
        for r in session.execute(cols.where(Pupil.id.in_(missing))):
            found[r.id] = PupilInfo(r.id, r.full_name, r.display, r.class_name)
    return found


def _school(session: Session, school_id: int) -> School:
    school = session.get(School, school_id)
    if school is None:
        raise not_found("school")
    return school


# --- timesheets -----------------------------------------------------------------------------------------


def timesheets(
    session: Session, school_ids: Collection[int], month: date, *, names_shown: bool
) -> dict[int, Timesheet]:
    """The month's timesheet of each school, from two aggregate queries for all of them together."""
    counts = pupil_day_counts(session, school_ids, month)
    held = held_counts(session, school_ids, month)
    pupils = _pupils(session, school_ids, {c.pupil_id for rows in counts.values() for c in rows})
    out = {}
    for school in session.scalars(select(School).where(School.id.in_(school_ids))):
        out[school.id] = build_timesheet(
            Party(school.id, school.bin, school.name),
            month,
            load_calendar(session, school.id).school_days(month, month_end(month)),
            pupils,
            counts.get(school.id, ()),
            names_shown=names_shown,
            held_flagged=held.get(school.id, 0),
        )
    return out


def timesheet(session: Session, school_id: int, month: date, *, names_shown: bool) -> Timesheet:
    _school(session, school_id)
    return timesheets(session, [school_id], month, names_shown=names_shown)[school_id]


# --- acts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActView:
    act: Act
    status: ActStatus
    version: int | None  # None while the month runs: a draft is never stored
    act_id: int | None = None
    signed_by: int | None = None
    signed_at: datetime | None = None
    superseded: bool = False


def compute_acts(session: Session, school_ids: Collection[int], month: date) -> dict[int, Act]:
    """The month's act of each school with a supplier, as the events stand now (one aggregate query, and
    one each for the schools, their contractors and the suppliers)."""
    counts = meal_counts(session, school_ids, month)
    tariffs = load_tariffs(session)
    schools = list(session.scalars(select(School).where(School.id.in_(school_ids))))
    contractor = suppliers_for_month(session, [s.id for s in schools], month)
    suppliers = {
        s.id: s
        for s in session.scalars(select(Supplier).where(Supplier.id.in_(sorted(set(contractor.values())))))
    }
    out = {}
    for school in schools:
        supplier = suppliers.get(contractor.get(school.id, 0))
        if supplier is not None:
            customer = Party(school.id, school.bin, school.name)
            contractor_party = Party(supplier.id, supplier.bin, supplier.name)
            out[school.id] = build_act(customer, contractor_party, month, counts.get(school.id, ()), tariffs)
    return out


def _lines_json(act: Act) -> str:
    return json.dumps(
        [
            [
                ln.plan,
                ln.slot,
                ln.valid_from.isoformat(),
                ln.first_day.isoformat(),
                ln.last_day.isoformat(),
                ln.meals,
                ln.unit.amount_tiyn,
                ln.unit.state_tiyn,
                ln.unit.parent_tiyn,
            ]
            for ln in act.lines
        ]
    )


def _act_from_row(session: Session, row: ActRow) -> Act:
    school = _school(session, row.school_id)
    supplier = session.get(Supplier, row.supplier_id)
    assert supplier is not None  # a foreign key
    lines = tuple(
        ActLine(
            plan=p,
            slot=s,
            valid_from=date.fromisoformat(vf),
            first_day=date.fromisoformat(fd),
            last_day=date.fromisoformat(ld),
            meals=n,
            unit=Split(a, st, pa),
        )
        for p, s, vf, fd, ld, n, a, st, pa in json.loads(row.lines_json)
    )
    return Act(
        Party(school.id, school.bin, school.name),
        Party(supplier.id, supplier.bin, supplier.name),
        row.month,
        lines,
    )


def _view(session: Session, row: ActRow, today: date, built: Act | None = None) -> ActView:
    """`built`: the act the row was just stored from, kept as it is rather than read back."""
    status = act_status(row.month, today, signed=row.signed_at is not None)
    return ActView(
        built or _act_from_row(session, row),
        status,
        row.version,
        row.id,
        row.signed_by,
        row.signed_at,
        superseded=row.superseded_at is not None,
    )


def _versions(session: Session, school_id: int, month: date) -> list[ActRow]:
    stmt = select(ActRow).where(ActRow.school_id == school_id, ActRow.month == month).order_by(ActRow.version)
    return list(session.scalars(stmt))


def produce_acts(
    session: Session, school_ids: Collection[int], month: date, now: datetime
) -> dict[int, ActView]:
    """Current act per school. Once the month is over each is stored; a change in the figures
    (a late batch, an admin's decision on a flag) stores a new version and supersedes the old one,
    signed or not. The caller commits."""
    today = local_date(now)
    if today > month_end(month):
        # Concurrent producers of the same school's act take turns (PostgreSQL row locks; SQLite
        # transactions are serialised already), so a version number is never taken twice.
        session.execute(
            for_update(session, select(School.id).where(School.id.in_(school_ids)).order_by(School.id))
        )
    acts = compute_acts(session, school_ids, month)
    if today <= month_end(month):
        return {school_id: ActView(act, ActStatus.DRAFT, None) for school_id, act in acts.items()}
    stored: dict[int, list[ActRow]] = defaultdict(list)
    for row in session.scalars(
        select(ActRow).where(ActRow.school_id.in_(list(acts)), ActRow.month == month).order_by(ActRow.version)
    ):
        stored[row.school_id].append(row)
    parties = _parties_of(session, [r for versions in stored.values() for r in versions])
    out = {}
    for school_id, act in acts.items():
        versions = stored[school_id]
        latest = versions[-1] if versions else None
        if latest is None or latest.content_hash != act.content_hash():
            if latest is not None:
                latest.superseded_at = now
            latest = ActRow(
                school_id=school_id,
                supplier_id=act.supplier.id,
                month=month,
                version=len(versions) + 1,
                content_hash=act.content_hash(),
                meals=act.meals,
                amount_tiyn=act.amount_tiyn,
                state_tiyn=act.state_tiyn,
                parent_tiyn=act.parent_tiyn,
                lines_json=_lines_json(act),
                generated_at=now,
            )
            session.add(latest)
            session.flush()
            out[school_id] = _view(session, latest, today, built=act)
            continue
        out[school_id] = _view(session, latest, today)
    del parties
    return out


def _parties_of(session: Session, rows: list[ActRow]) -> list[School | Supplier]:
    """The schools and suppliers of these stored acts, in two queries; the caller holds the list while
    it reads the acts back (`_act_from_row` finds them in the session's identity map, which holds rows
    weakly, instead of asking for each again)."""
    schools = session.scalars(select(School).where(School.id.in_(sorted({r.school_id for r in rows}))))
    suppliers = session.scalars(
        select(Supplier).where(Supplier.id.in_(sorted({r.supplier_id for r in rows})))
    )
    return [*schools, *suppliers]


def produce_act(session: Session, school_id: int, month: date, now: datetime) -> ActView:
    _school(session, school_id)
    if supplier_for_month(session, school_id, month) is None:
        raise DomainError(BillingApiReason.NO_SUPPLIER, f"school {school_id} has no supplier on record")
    return produce_acts(session, [school_id], month, now)[school_id]


def act_version(session: Session, school_id: int, month: date, version: int, now: datetime) -> ActView:
    for row in _versions(session, school_id, month):
        if row.version == version:
            return _view(session, row, local_date(now))
    raise not_found("act version")


def stored_acts(session: Session, school_ids: Iterable[int], month: date, now: datetime) -> list[ActView]:
    """Every stored version of the month's acts of these schools, latest first per school."""
    stmt = (
        select(ActRow)
        .where(ActRow.school_id.in_(list(school_ids)), ActRow.month == month)
        .order_by(ActRow.school_id, ActRow.version.desc())
    )
    today = local_date(now)
    rows = list(session.scalars(stmt))
    parties = _parties_of(session, rows)  # held: the views read them back from the identity map
    views = [_view(session, row, today) for row in rows]
    del parties
    return views


def sign_off(
    uow: UnitOfWork, school_id: int, month: date, version: int, admin_id: int, now: datetime
) -> ActView:
    """The customer accepts one version; only the latest, and only once the month is over."""
    session = uow.session
    if local_date(now) <= month_end(month):
        raise DomainError(
            BillingApiReason.MONTH_NOT_OVER, "an act can be signed from the 1st of the next month"
        )
    versions = _versions(session, school_id, month)
    if not versions or versions[-1].version != version:
        raise DomainError(
            BillingApiReason.STALE_VERSION, f"version {version} is not the latest act of the month"
        )
    row = versions[-1]
    if row.signed_at is not None:
        raise DomainError(
            BillingApiReason.ALREADY_SIGNED, f"version {version} was signed on {row.signed_at:%Y-%m-%d}"
        )
    row.signed_by = admin_id
    row.signed_at = now
    session.flush()
    view = _view(session, row, local_date(now))
    uow.commit()
    return view


# --- reconciliation -------------------------------------------------------------------------------------


def reconcile_month(session: Session, school_id: int, month: date) -> Reconciliation:
    """Checks the timesheet and the act against the billable events taken one by one."""
    ts = timesheet(session, school_id, month, names_shown=False)
    acts = compute_acts(session, [school_id], month)
    if school_id not in acts:
        raise DomainError(BillingApiReason.NO_SUPPLIER, f"school {school_id} has no supplier on record")
    act = acts[school_id]
    events = meals.billable_meals(session, school_id, month, month_end(month))
    result = reconcile(ts, act, events, load_tariffs(session))
    accepted = meals.billable_status_count(session, school_id, month, month_end(month))
    if accepted != len(events):
        gap = f"{accepted} meals are billable but only {len(events)} can be priced (pupil, slot or plan unknown)"
        return replace(result, problems=(*result.problems, gap))
    return result
