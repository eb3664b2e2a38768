"""The demo district for `make serve` and the browser tests: the cast of `demo.data` put in
through the same services the API uses (imports, staff accounts, calendar, list, cross-check, consent).

Where it leaves each family: the Bekovs' grade-2 voucher waits for activation (no SMS needed below
grade 5); Gülnar Akhmetova's consent request for her three children is pending, so she can answer in
the app; Sergey Petrov declined by SMS; Roza Nurova has no phone on record, so no SMS reaches her.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.state_registry import CategoryRecord, InMemoryRegistry
from backend.auth.model import Principal, Role
from backend.auth.services import admin_principal, create_admin
from backend.auth.tables import Admin
from backend.calendar.model import SlotTime, Tariff
from backend.calendar.services import add_tariff, set_slots
from backend.campaign import services as campaign
from backend.clock import local_date
from backend.config import Settings
from backend.consent.services import handle_reply
from backend.eligibility import services as eligibility
from backend.eligibility.model import Category
from backend.imports.model import ImportKind
from backend.imports.services import run_import
from backend.roster.iin import make_iin
from backend.roster.tables import Pupil, School, Supplier
from backend.unit_of_work import UnitOfWork
from demo import data as D


@dataclass
class DemoDistrict:
    school_id: int = 0
    parents: list[tuple[str, str | None, list[str]]] = field(default_factory=list)  # name, phone, children
    staff: list[tuple[str, Role]] = field(default_factory=list)
    pupil_iins: dict[str, str] = field(default_factory=dict)  # child key → IIN


def _iin(n: int) -> str:
    while True:
        iin = make_iin(f"1{n:010d}")
        if iin is not None:
            return iin
        n += 1


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode()


def seed(
    session_factory: sessionmaker[Session],
    settings: Settings,
    registry: InMemoryRegistry,
    now: datetime,
    *,
    families: Sequence[D.Family] = D.FAMILIES,
) -> DemoDistrict:
    """Seeds an empty database (a second call finds the school and only re-fills the register).
    `families` replaces the demo's four (benchmarks seed many parents the same way)."""
    out = DemoDistrict(staff=list(D.STAFF))
    files: dict[ImportKind, list[list[str]]] = {
        ImportKind.SCHOOLS: [
            ["bin", "name", "region", "district"],
            [D.SCHOOL_BIN, D.SCHOOL_NAME, "Алматы", D.DISTRICT],
        ],
        ImportKind.PUPILS: [["iin", "full_name", "grade", "class_name", "school_bin"]],
        ImportKind.PARENTS: [["iin", "full_name", "phone", "language"]],
        ImportKind.LINKS: [["pupil_iin", "parent_iin", "role"]],
    }
    n = 0
    for fam in families:
        n += 1
        parent_iin = _iin(800_000 + n * 10)
        files[ImportKind.PARENTS].append([parent_iin, fam.parent_name, fam.phone or "", "kk+ru"])
        for child in fam.children:
            n += 1
            iin = _iin(900_000 + n * 10)
            out.pupil_iins[child.key] = iin
            files[ImportKind.PUPILS].append(
                [iin, child.full_name, str(child.grade), child.class_name, D.SCHOOL_BIN]
            )
            files[ImportKind.LINKS].append([iin, parent_iin, fam.role])
        out.parents.append((fam.parent_name, fam.phone, [c.full_name for c in fam.children]))
    year_start = date(local_date(now).year - (1 if local_date(now).month < 9 else 0), 9, 1)
    for iin in out.pupil_iins.values():
        registry.add(
            CategoryRecord(iin, Category.TARGETED_ASSISTANCE, year_start, date(year_start.year + 1, 8, 31))
        )

    with UnitOfWork(session_factory) as uow:
        session = uow.session
        existing = session.scalar(select(School.id).where(School.bin == D.SCHOOL_BIN))
        if existing is not None:
            out.school_id = existing
            return out
        supplier = Supplier(
            bin=D.SUPPLIER_BIN, name=D.SUPPLIER_NAME, iban=D.SUPPLIER_IBAN, bank_bik=D.SUPPLIER_BIK
        )
        session.add(supplier)
        district = create_admin(
            session,
            login="district.admin",
            password=D.PASSWORD,
            role=Role.DISTRICT_ADMIN,
            district=D.DISTRICT,
        )
        for kind, rows in files.items():
            report = run_import(
                uow, kind, _csv(rows), f"{kind.value}.csv", actor="demo", settings=settings, now=now
            )
            if report.rejected:
                raise RuntimeError(f"demo {kind} rows rejected: {report.rejected}")
        school = session.scalars(select(School).where(School.bin == D.SCHOOL_BIN)).one()
        school.supplier_id = supplier.id
        out.school_id = school.id
        for login, role in D.STAFF:
            if role is not Role.DISTRICT_ADMIN:
                create_admin(session, login=login, password=D.PASSWORD, role=role, school_ids=(school.id,))
        set_slots(uow, school.id, [SlotTime(n_, a, b) for n_, a, b in D.SLOTS])
        for plan, slot, amount, state in D.TARIFFS:
            add_tariff(uow, Tariff(None, plan, slot, min(D.TARIFFS_FROM, year_start), amount, state))
        session.flush()

        def principal(login: str) -> Principal:
            return admin_principal(session, session.scalars(select(Admin).where(Admin.login == login)).one())

        pedagogue, head = principal("social.pedagogue"), principal("school.head")
        admin = admin_principal(session, district)
        month = local_date(now).replace(day=1)
        pupils = list(session.execute(select(Pupil.id, Pupil.grade).where(Pupil.school_id == school.id)))
        uow.commit()
    # The month's list goes the way the staff's would: each step its own unit of work.
    with UnitOfWork(session_factory) as uow:
        lst = eligibility.create_list(uow, pedagogue, school.id, month)
    for pupil_id, grade in pupils:
        category = None if grade <= 4 else Category.TARGETED_ASSISTANCE
        with UnitOfWork(session_factory) as uow:
            eligibility.add_entry(uow, pedagogue, lst.id, pupil_id, category)
    with UnitOfWork(session_factory) as uow:
        eligibility.approve(uow, head, lst.id, now)
    with UnitOfWork(session_factory) as uow:
        campaign.check(uow, admin, lst.id, registry=registry, settings=settings, now=now)
    with UnitOfWork(session_factory) as uow:
        for fam in families:
            if fam.phone and fam.reply == "3#2":
                handle_reply(uow, phone=fam.phone, text=fam.reply, settings=settings, now=now)
    return out
