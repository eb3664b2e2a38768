"""Billing domain: tariffs in force, state/parent split, monthly timesheet and act of completed work.

Pure: no I/O. Money is integer tiyn (1 tenge = 100 tiyn); nothing here ever touches a float.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from backend.calendar.model import Tariff
from backend.vouchers.model import Plan


class BillingReason(StrEnum):
    """Stable reason codes for billing refusals."""

    NO_TARIFF = "NO_TARIFF"
    BAD_MONTH = "BAD_MONTH"
    UNKNOWN_PLAN = "UNKNOWN_PLAN"


class BillingError(ValueError):
    def __init__(self, reason: BillingReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# --- months and due dates -------------------------------------------------------------------------------


def month_start(value: date) -> date:
    return value.replace(day=1)


def parse_month(text: str) -> date:
    """'2026-09' -> date(2026, 9, 1); anything else is BAD_MONTH."""
    try:
        year_s, month_s = text.split("-")
        if len(year_s) != 4 or len(month_s) != 2:
            raise ValueError(text)
        return date(int(year_s), int(month_s), 1)
    except ValueError as exc:
        raise BillingError(BillingReason.BAD_MONTH, f"month must be YYYY-MM, got {text!r}") from exc


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def month_days(month: date) -> list[date]:
    first = month_start(month)
    return [first + timedelta(days=i) for i in range(month_end(first).day)]


def next_month(month: date) -> date:
    return (month_end(month) + timedelta(days=1)).replace(day=1)


DUE_DAY = 5  # the act is due by the 5th of the following month


def due_date(month: date) -> date:
    return next_month(month).replace(day=DUE_DAY)


class ActStatus(StrEnum):
    DRAFT = "draft"  # the month is not over: figures still move
    AVAILABLE = "available"  # from the 1st of the next month, awaiting sign-off
    OVERDUE = "overdue"  # past the 5th and still not signed off
    SIGNED = "signed"  # the customer accepted this version


def act_status(month: date, today: date, *, signed: bool) -> ActStatus:
    if signed:
        return ActStatus.SIGNED
    if today <= month_end(month):
        return ActStatus.DRAFT
    if today <= due_date(month):
        return ActStatus.AVAILABLE
    return ActStatus.OVERDUE


# --- tariffs --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split:
    """One meal's price and who pays it."""

    amount_tiyn: int
    state_tiyn: int
    parent_tiyn: int


def split(plan: int, tariff: Tariff) -> Split:
    if plan == Plan.FREE:
        return Split(tariff.amount_tiyn, tariff.amount_tiyn, 0)
    if plan == Plan.DISCOUNTED:
        state = tariff.state_share_tiyn
        return Split(tariff.amount_tiyn, state, tariff.amount_tiyn - state)
    raise BillingError(BillingReason.UNKNOWN_PLAN, f"plan {plan}")


class TariffBook:
    """Indexed `backend.calendar.model.tariff_in_force`: a school's own rows win over the default rows,
    the latest valid_from wins. Built once per act, looked up per (day, slot, plan) group."""

    def __init__(self, tariffs: Iterable[Tariff]) -> None:
        by_key: dict[tuple[int | None, int, int], list[Tariff]] = defaultdict(list)
        for t in tariffs:
            by_key[(t.school_id, t.plan, t.slot)].append(t)
        self._rows = {k: sorted(v, key=lambda t: t.valid_from) for k, v in by_key.items()}

    def _latest(self, key: tuple[int | None, int, int], day: date) -> Tariff | None:
        found = None
        for t in self._rows.get(key, ()):
            if t.valid_from > day:
                break
            found = t
        return found

    def in_force(self, school_id: int, plan: int, slot: int, day: date) -> Tariff:
        tariff = self._latest((school_id, plan, slot), day) or self._latest((None, plan, slot), day)
        if tariff is None:
            raise BillingError(
                BillingReason.NO_TARIFF, f"no tariff for school {school_id} plan {plan} slot {slot} on {day}"
            )
        return tariff


# --- the act of completed work --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MealCount:
    """Billable meals of one school on one day in one slot under one plan (aggregated in SQL)."""

    school_id: int
    day: date
    slot: int
    plan: int
    meals: int


@dataclass(frozen=True, slots=True)
class ActLine:
    """Meals billed at one price: one plan, one slot, one tariff period."""

    plan: int
    slot: int
    valid_from: date
    first_day: date
    last_day: date
    meals: int
    unit: Split

    @property
    def amount_tiyn(self) -> int:
        return self.meals * self.unit.amount_tiyn

    @property
    def state_tiyn(self) -> int:
        return self.meals * self.unit.state_tiyn

    @property
    def parent_tiyn(self) -> int:
        return self.meals * self.unit.parent_tiyn


@dataclass(frozen=True, slots=True)
class Party:
    id: int
    bin: str
    name: str


@dataclass(frozen=True, slots=True)
class Act:
    school: Party
    supplier: Party
    month: date
    lines: tuple[ActLine, ...]

    @property
    def meals(self) -> int:
        return sum(line.meals for line in self.lines)

    @property
    def amount_tiyn(self) -> int:
        return sum(line.amount_tiyn for line in self.lines)

    @property
    def state_tiyn(self) -> int:
        return sum(line.state_tiyn for line in self.lines)

    @property
    def parent_tiyn(self) -> int:
        return sum(line.parent_tiyn for line in self.lines)

    def content_hash(self) -> str:
        """Identifies the figures: a regenerated act with a different hash is a new version."""
        body = {
            "school": self.school.id,
            "supplier": self.supplier.id,
            "month": self.month.isoformat(),
            "lines": [
                [
                    ln.plan,
                    ln.slot,
                    ln.valid_from.isoformat(),
                    ln.meals,
                    ln.unit.amount_tiyn,
                    ln.unit.state_tiyn,
                ]
                for ln in self.lines
            ],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def build_act(
    school: Party, supplier: Party, month: date, counts: Iterable[MealCount], tariffs: TariffBook
) -> Act:
    """Prices each (day, slot, plan) count with the tariff in force that day; groups equal prices."""
    grouped: dict[tuple[int, int, date], list[tuple[date, int, Split]]] = defaultdict(list)
    for c in counts:
        if c.school_id != school.id or month_start(c.day) != month:
            raise BillingError(BillingReason.BAD_MONTH, f"count for {c.school_id} on {c.day} outside the act")
        tariff = tariffs.in_force(c.school_id, c.plan, c.slot, c.day)
        grouped[(c.plan, c.slot, tariff.valid_from)].append((c.day, c.meals, split(c.plan, tariff)))
    lines = []
    for (plan, slot, valid_from), items in sorted(grouped.items()):
        days = [d for d, _, _ in items]
        lines.append(
            ActLine(
                plan=plan,
                slot=slot,
                valid_from=valid_from,
                first_day=min(days),
                last_day=max(days),
                meals=sum(n for _, n, _ in items),
                unit=items[0][2],
            )
        )
    return Act(school, supplier, month, tuple(lines))


# --- the timesheet --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimesheetRow:
    pupil_id: int
    label: str  # full name for admins with rights to the school, else the terminal display string
    class_name: str
    plan: int
    cells: Mapping[date, int]  # meals served per school day

    @property
    def total(self) -> int:
        return sum(self.cells.values())


@dataclass(frozen=True, slots=True)
class Timesheet:
    school: Party
    month: date
    days: tuple[date, ...]  # the school days of the month (plus any day a billable meal was served)
    rows: tuple[TimesheetRow, ...]
    held_flagged: int = 0  # meals held out until an admin accepts them
    names_shown: bool = False

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)

    def day_totals(self) -> dict[date, int]:
        totals = dict.fromkeys(self.days, 0)
        for r in self.rows:
            for d, n in r.cells.items():
                totals[d] = totals.get(d, 0) + n
        return totals


@dataclass(frozen=True, slots=True)
class PupilInfo:
    pupil_id: int
    full_name: str
    display: str
    class_name: str


@dataclass(frozen=True, slots=True)
class PupilDayCount:
    pupil_id: int
    plan: int
    day: date
    meals: int


def build_timesheet(
    school: Party,
    month: date,
    school_days: Iterable[date],
    pupils: Mapping[int, PupilInfo],
    counts: Iterable[PupilDayCount],
    *,
    names_shown: bool,
    held_flagged: int = 0,
) -> Timesheet:
    # One row per pupil and plan: a pupil whose plan changed mid-month shows on two rows.
    cells: dict[tuple[int, int], dict[date, int]] = defaultdict(dict)
    days = {d for d in school_days if month_start(d) == month}
    for c in counts:
        row = cells[(c.pupil_id, c.plan)]
        row[c.day] = row.get(c.day, 0) + c.meals
        days.add(c.day)  # a billable meal on a day off still shows (it was accepted by an admin)
    rows = []
    for (pupil_id, plan), by_day in cells.items():
        p = pupils[pupil_id]
        rows.append(
            TimesheetRow(
                pupil_id=pupil_id,
                label=p.full_name if names_shown else p.display,
                class_name=p.class_name,
                plan=plan,
                cells=by_day,
            )
        )
    rows.sort(key=lambda r: (r.class_name, r.label, r.pupil_id, r.plan))
    return Timesheet(school, month, tuple(sorted(days)), tuple(rows), held_flagged, names_shown)


# --- reconciliation -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reconciliation:
    events: int  # billable events counted one by one
    events_amount_tiyn: int  # sum of each event's own tariff
    timesheet_meals: int
    act_meals: int
    act_amount_tiyn: int
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def reconcile(
    timesheet: Timesheet, act: Act, events: Sequence[tuple[date, int, int]], tariffs: TariffBook
) -> Reconciliation:
    """`events`: (day, slot, plan) of every billable event, priced here one at a time."""
    amount = sum(
        split(plan, tariffs.in_force(act.school.id, plan, slot, d)).amount_tiyn for d, slot, plan in events
    )
    problems = []
    if timesheet.total != len(events):
        problems.append(f"timesheet has {timesheet.total} meals, events {len(events)}")
    if act.meals != len(events):
        problems.append(f"act has {act.meals} meals, events {len(events)}")
    if act.amount_tiyn != amount:
        problems.append(f"act amount {act.amount_tiyn} tiyn, events priced one by one {amount}")
    if act.state_tiyn + act.parent_tiyn != act.amount_tiyn:
        problems.append("state and parent shares do not add up to the amount")
    return Reconciliation(len(events), amount, timesheet.total, act.meals, act.amount_tiyn, tuple(problems))


# --- presentation helpers shared by the exporters -------------------------------------------------------


def format_tenge(tiyn: int) -> str:
    """12345 -> '123.45' (exact: integer division, no floats)."""
    sign = "-" if tiyn < 0 else ""
    whole, frac = divmod(abs(tiyn), 100)
    return f"{sign}{whole}.{frac:02d}"


PLAN_NAMES = {Plan.FREE: "бесплатное / тегін", Plan.DISCOUNTED: "льготное / жеңілдікті"}
