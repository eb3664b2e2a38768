"""Suppliers: set up with their BIN and bank details, linked to schools for periods of time, and which
supplier served a school on a day (the act's contractor, a rating's supplier). Scope is the caller's:
these functions take the district the admin may act in, and the schools they may see."""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.errors import DomainError, not_found
from backend.unit_of_work import UnitOfWork

from .tables import School, Supplier, SupplierLink

BIN_RE = re.compile(r"^\d{12}$")
IBAN_RE = re.compile(r"^KZ\d{2}[0-9A-Z]{16}$")  # Kazakhstan's IBAN: 20 characters
BIK_RE = re.compile(r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")  # the bank's SWIFT-style BIC


class SupplierReason(enum.StrEnum):
    BAD_BIN = "BAD_BIN"
    BAD_IBAN = "BAD_IBAN"
    BAD_BIK = "BAD_BIK"
    NAME_REQUIRED = "NAME_REQUIRED"
    BIN_TAKEN = "BIN_TAKEN"
    BAD_PERIOD = "BAD_PERIOD"
    LINK_OVERLAPS = "LINK_OVERLAPS"


@dataclass(frozen=True, slots=True)
class SupplierIn:
    bin: str
    name: str
    iban: str
    bank_bik: str
    bank_name: str


def _clean(data: SupplierIn) -> SupplierIn:
    bin_, iban, bik = data.bin.strip(), data.iban.replace(" ", "").upper(), data.bank_bik.strip().upper()
    if not BIN_RE.match(bin_):
        raise DomainError(SupplierReason.BAD_BIN, "a BIN is 12 digits")
    if not data.name.strip() or len(data.name) > 300:
        raise DomainError(SupplierReason.NAME_REQUIRED, "the supplier needs a name (at most 300 characters)")
    if not IBAN_RE.match(iban):
        raise DomainError(SupplierReason.BAD_IBAN, "an IBAN is KZ and 18 more characters")
    if not BIK_RE.match(bik):
        raise DomainError(SupplierReason.BAD_BIK, "a BIK is 8 or 11 letters and digits")
    return SupplierIn(bin_, data.name.strip(), iban, bik, data.bank_name.strip()[:200])


def create_supplier(uow: UnitOfWork, district: str, data: SupplierIn) -> Supplier:
    session = uow.session
    d = _clean(data)
    supplier = Supplier(
        bin=d.bin, name=d.name, iban=d.iban, bank_bik=d.bank_bik, bank_name=d.bank_name, district=district
    )
    try:
        with session.begin_nested():
            session.add(supplier)
    except IntegrityError:
        raise DomainError(SupplierReason.BIN_TAKEN, "a supplier with this BIN exists") from None
    uow.commit()
    return supplier


def update_supplier(uow: UnitOfWork, district: str, supplier_id: int, data: SupplierIn) -> Supplier:
    session = uow.session
    supplier = session.get(Supplier, supplier_id)
    if supplier is None or supplier.district != district:  # only the district that set it up edits it
        raise not_found("supplier")
    d = _clean(data)
    supplier.bin, supplier.name, supplier.iban = d.bin, d.name, d.iban
    supplier.bank_bik, supplier.bank_name = d.bank_bik, d.bank_name
    try:
        uow.commit()
    except IntegrityError:
        raise DomainError(SupplierReason.BIN_TAKEN, "a supplier with this BIN exists") from None
    return supplier


def _visible(district: str) -> list[ColumnElement[bool]]:
    """A district sees the suppliers it set up and those already serving one of its schools."""
    serving = select(SupplierLink.supplier_id).join(School, School.id == SupplierLink.school_id)
    legacy = select(School.supplier_id).where(School.district == district, School.supplier_id.is_not(None))
    return [
        or_(
            Supplier.district == district,
            Supplier.id.in_(serving.where(School.district == district)),
            Supplier.id.in_(legacy),
        )
    ]


def supplier_of_district(session: Session, district: str, supplier_id: int) -> Supplier:
    found = session.scalar(select(Supplier).where(Supplier.id == supplier_id, *_visible(district)))
    if found is None:
        raise not_found("supplier")
    return found


def suppliers_of_district(session: Session, district: str) -> list[Supplier]:
    return list(session.scalars(select(Supplier).where(*_visible(district)).order_by(Supplier.name)))


def link(
    uow: UnitOfWork,
    district: str,
    supplier_id: int,
    school_id: int,
    valid_from: date,
    valid_to: date | None,
) -> SupplierLink:
    """The supplier serves the school over the period; the school's periods never overlap."""
    session = uow.session
    supplier_of_district(session, district, supplier_id)
    # The school's row lock serialises two links being made for it at once.
    school = session.scalar(for_update(session, select(School).where(School.id == school_id)))
    if school is None or school.district != district:
        raise not_found("school")
    if valid_to is not None and valid_to < valid_from:
        raise DomainError(SupplierReason.BAD_PERIOD, "the period ends before it starts")
    clash = session.scalar(
        select(SupplierLink.id)
        .where(SupplierLink.school_id == school_id, *_overlapping(valid_from, valid_to))
        .limit(1)
    )
    if clash is not None:
        raise DomainError(SupplierReason.LINK_OVERLAPS, "another supplier serves the school in this period")
    row = SupplierLink(supplier_id=supplier_id, school_id=school_id, valid_from=valid_from, valid_to=valid_to)
    session.add(row)
    uow.commit()
    return row


def end_link(uow: UnitOfWork, district: str, link_id: int, last_day: date) -> SupplierLink:
    session = uow.session
    row = session.get(SupplierLink, link_id)
    school = session.get(School, row.school_id) if row else None
    if row is None or school is None or school.district != district:
        raise not_found("link")
    if last_day < row.valid_from:
        raise DomainError(SupplierReason.BAD_PERIOD, "the period ends before it starts")
    row.valid_to = last_day
    uow.commit()
    return row


def _overlapping(start: date, end: date | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [or_(SupplierLink.valid_to.is_(None), SupplierLink.valid_to >= start)]
    if end is not None:
        conds.append(SupplierLink.valid_from <= end)
    return conds


@dataclass(frozen=True, slots=True)
class LinkView:
    id: int
    supplier_id: int
    supplier_name: str
    school_id: int
    school_name: str
    valid_from: date
    valid_to: date | None


def links_of(session: Session, school_ids: Collection[int], supplier_id: int | None = None) -> list[LinkView]:
    stmt = (
        select(SupplierLink, Supplier.name, School.name)
        .join(Supplier, Supplier.id == SupplierLink.supplier_id)
        .join(School, School.id == SupplierLink.school_id)
        .where(SupplierLink.school_id.in_(sorted(school_ids)))
        .order_by(School.name, SupplierLink.valid_from)
    )
    if supplier_id is not None:
        stmt = stmt.where(SupplierLink.supplier_id == supplier_id)
    return [
        LinkView(ln.id, ln.supplier_id, sup, ln.school_id, sch, ln.valid_from, ln.valid_to)
        for ln, sup, sch in session.execute(stmt)
    ]


def supplier_on(session: Session, school_id: int, day: date) -> int | None:
    """The supplier serving the school on `day`: a dated link covering the day, else the school's
    undated supplier (None: no act)."""
    linked = session.scalar(
        select(SupplierLink.supplier_id).where(SupplierLink.school_id == school_id, *_overlapping(day, day))
    )
    if linked is not None:
        return linked
    return session.scalar(select(School.supplier_id).where(School.id == school_id))


def supplier_for_month(session: Session, school_id: int, month: date) -> int | None:
    """The month's contractor: the supplier linked on the month's last day served, else on its first."""
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    latest = session.scalar(
        select(SupplierLink.supplier_id)
        .where(
            SupplierLink.school_id == school_id, *_overlapping(month, date.fromordinal(nxt.toordinal() - 1))
        )
        .order_by(SupplierLink.valid_from.desc())
        .limit(1)
    )
    return latest if latest is not None else supplier_on(session, school_id, month)


def suppliers_for_month(session: Session, school_ids: Collection[int], month: date) -> dict[int, int]:
    """`supplier_for_month` of many schools in two queries (a district's acts page): school → supplier,
    schools with none left out. A link covering the 1st overlaps the month, so the fallback is the
    school's undated supplier."""
    ids = sorted(school_ids)
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    out: dict[int, int] = {}
    for school_id, supplier_id in session.execute(
        select(SupplierLink.school_id, SupplierLink.supplier_id)
        .where(SupplierLink.school_id.in_(ids), *_overlapping(month, date.fromordinal(nxt.toordinal() - 1)))
        .order_by(SupplierLink.school_id, SupplierLink.valid_from.desc())
    ):
        out.setdefault(school_id, supplier_id)
    rest = [i for i in ids if i not in out]
    if rest:
        legacy = select(School.id, School.supplier_id).where(School.id.in_(rest))
        out.update({school_id: sid for school_id, sid in session.execute(legacy) if sid is not None})
    return out


def schools_of_supplier(session: Session, supplier_id: int, day: date) -> set[int]:
    """Schools the supplier serves on `day` or served earlier (its acts stay its to read)."""
    linked = session.scalars(
        select(SupplierLink.school_id).where(
            SupplierLink.supplier_id == supplier_id, SupplierLink.valid_from <= day
        )
    )
    legacy = session.scalars(select(School.id).where(School.supplier_id == supplier_id))
    return set(linked) | set(legacy)


def serving_today(
    session: Session, school_ids: Collection[int], day: date
) -> dict[int, list[tuple[int, str]]]:
    """Supplier → the (school id, name) of the given schools it serves on `day` (as `supplier_on`)."""
    ids = sorted(school_ids)
    out: dict[int, list[tuple[int, str]]] = {}
    dated = session.execute(
        select(SupplierLink.supplier_id, School.id, School.name)
        .join(School, School.id == SupplierLink.school_id)
        .where(SupplierLink.school_id.in_(ids), *_overlapping(day, day))
    ).all()
    linked = {school_id for _, school_id, _ in dated}
    legacy = session.execute(
        select(School.supplier_id, School.id, School.name).where(
            School.id.in_(sorted(set(ids) - linked)), School.supplier_id.is_not(None)
        )
    )
    for supplier_id, school_id, name in [*dated, *legacy]:
        out.setdefault(supplier_id, []).append((school_id, name))
    return out
