"""The payment register of a district's month for the treasury: one line per supplier and act (the
latest version, accepted by the district), with the supplier's BIN and bank account, what the state
pays and the families' share for discounted meals; and every meal held out of billing with its
reasons, so nothing is paid, or left unpaid, silently. Exported as CSV and as JSON in the format
`sm-payment-register/1` (docs/backend-schoolyear.md). `build` only reads (the console shows it before
it is exported); `produce`, the export, marks the listed acts as sent for payment."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ingest import queries as ingest_queries
from backend.ingest.model import MealStatus
from backend.roster.tables import School, Supplier
from backend.unit_of_work import UnitOfWork

from .model import format_tenge, month_end
from .steps import Step, latest_with_steps, mark_sent
from .tables import ActRow

FORMAT = "sm-payment-register/1"


@dataclass(frozen=True, slots=True)
class RegisterLine:
    supplier_bin: str
    supplier_name: str
    iban: str | None
    bank_bic: str | None
    school_bin: str
    school_name: str
    act_version: int
    meals: int
    amount_tiyn: int
    state_tiyn: int
    family_tiyn: int


@dataclass(frozen=True, slots=True)
class HeldMeal:
    school_bin: str
    event_id: str
    local_date: date
    slot: int | None
    status: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaymentRegister:
    district: str
    month: date
    lines: tuple[RegisterLine, ...]
    not_ready: tuple[tuple[str, str], ...]  # (school BIN, the step it waits for)
    held: tuple[HeldMeal, ...]

    @property
    def state_tiyn(self) -> int:
        return sum(ln.state_tiyn for ln in self.lines)

    @property
    def family_tiyn(self) -> int:
        return sum(ln.family_tiyn for ln in self.lines)


def _collect(
    session: Session, district: str, month: date, *, with_held: bool = True
) -> tuple[PaymentRegister, list[ActRow]]:
    """The register and the accepted acts its lines pay; without its held meals when not `with_held`."""
    schools = list(session.scalars(select(School).where(School.district == district).order_by(School.bin)))
    lines: list[RegisterLine] = []
    paid: list[ActRow] = []
    not_ready: list[tuple[str, str]] = []
    found = latest_with_steps(session, [s.id for s in schools], month)
    wanted = sorted({act.supplier_id for act, _ in found.values()})
    suppliers = {s.id: s for s in session.scalars(select(Supplier).where(Supplier.id.in_(wanted)))}
    for school in schools:
        if school.id not in found:
            continue
        act, done = found[school.id]
        if Step.DISTRICT_ACCEPTED not in done:
            waiting = next(s for s in Step if s not in done)
            not_ready.append((school.bin, waiting.value))
            continue
        supplier = suppliers[act.supplier_id]  # a foreign key
        lines.append(
            RegisterLine(
                supplier.bin,
                supplier.name,
                supplier.iban,
                supplier.bank_bik,
                school.bin,
                school.name,
                act.version,
                act.meals,
                act.amount_tiyn,
                act.state_tiyn,
                act.parent_tiyn,
            )
        )
        paid.append(act)
    held = _held(session, schools, month) if with_held else ()
    lines.sort(key=lambda ln: (ln.supplier_bin, ln.school_bin))
    return PaymentRegister(district, month, tuple(lines), tuple(not_ready), held), paid


def build(session: Session, district: str, month: date, *, with_held: bool = True) -> PaymentRegister:
    """The district's register of the month as it stands, read only (a page reads its held meals a page
    at a time through `held_page` instead: a district's month may hold tens of thousands)."""
    return _collect(session, district, month, with_held=with_held)[0]


HELD = (MealStatus.FLAGGED.value, MealStatus.REJECTED_BY_ADMIN.value)


def _held(
    session: Session, schools: list[School], month: date, *, offset: int = 0, limit: int | None = None
) -> tuple[HeldMeal, ...]:
    bins = {s.id: s.bin for s in schools}
    meals = ingest_queries.school_meals(
        session, bins, month, month_end(month), statuses=HELD, offset=offset, limit=limit
    )
    return tuple(
        HeldMeal(bins[m.school_id], m.event_id.hex(), m.local_date, m.slot, m.status, m.flags) for m in meals
    )


def held_page(
    session: Session, district: str, month: date, *, offset: int, limit: int
) -> tuple[tuple[HeldMeal, ...], int]:
    """One page of the month's meals held out of billing, in the register's order, and how many in all."""
    schools = list(session.scalars(select(School).where(School.district == district)))
    total = ingest_queries.count_school_meals(
        session, [s.id for s in schools], month, month_end(month), statuses=HELD
    )
    return _held(session, schools, month, offset=offset, limit=limit), total


def produce(uow: UnitOfWork, district: str, month: date, now: datetime) -> PaymentRegister:
    """The district admin's register of the month for the treasury; the acts in it are marked sent for
    payment."""
    reg, paid = _collect(uow.session, district, month)
    for act in paid:
        mark_sent(uow.session, act, now)
    uow.commit()
    return reg


def to_json(reg: PaymentRegister) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "district": reg.district,
        "month": f"{reg.month:%Y-%m}",
        "currency": "KZT",
        "amounts_in": "tiyn",
        "total_state_tiyn": reg.state_tiyn,
        "total_family_tiyn": reg.family_tiyn,
        "lines": [
            {
                "supplier_bin": ln.supplier_bin,
                "supplier_name": ln.supplier_name,
                "iban": ln.iban,
                "bank_bic": ln.bank_bic,
                "school_bin": ln.school_bin,
                "school_name": ln.school_name,
                "act_version": ln.act_version,
                "meals": ln.meals,
                "amount_tiyn": ln.amount_tiyn,
                "state_tiyn": ln.state_tiyn,
                "family_tiyn": ln.family_tiyn,
            }
            for ln in reg.lines
        ],
        "not_ready": [{"school_bin": b, "waiting_for": s} for b, s in reg.not_ready],
        "held_meals": [
            {
                "school_bin": h.school_bin,
                "event_id": h.event_id,
                "date": h.local_date.isoformat(),
                "slot": h.slot,
                "status": h.status,
                "reasons": list(h.reasons),
            }
            for h in reg.held
        ],
    }


def to_json_bytes(reg: PaymentRegister) -> bytes:
    return json.dumps(to_json(reg), ensure_ascii=False, indent=1, sort_keys=True).encode()


def to_csv(reg: PaymentRegister) -> bytes:
    """Payment lines (amounts in tenge, exact), then the held meals under their own header."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "supplier_bin",
            "supplier_name",
            "iban",
            "bank_bic",
            "school_bin",
            "act_version",
            "meals",
            "amount_kzt",
            "state_kzt",
            "family_kzt",
        ]
    )
    for ln in reg.lines:
        w.writerow(
            [
                ln.supplier_bin,
                ln.supplier_name,
                ln.iban or "",
                ln.bank_bic or "",
                ln.school_bin,
                ln.act_version,
                ln.meals,
                format_tenge(ln.amount_tiyn),
                format_tenge(ln.state_tiyn),
                format_tenge(ln.family_tiyn),
            ]
        )
    w.writerow([])
    w.writerow(["held_school_bin", "event_id", "date", "slot", "status", "reasons"])
    for h in reg.held:
        w.writerow(
            [h.school_bin, h.event_id, h.local_date.isoformat(), h.slot or "", h.status, " ".join(h.reasons)]
        )
    return ("\ufeff" + out.getvalue()).encode()
