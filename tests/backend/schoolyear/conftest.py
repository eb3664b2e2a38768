"""School-year helpers on top of tests/backend/conftest.py (and the operations fixtures for terminals).

- `people(school_id, district="Almaly")` → Staff: principals (pedagogue, head, district, supplier) backed
  by real admin rows, and their bearer headers.
- `run_list(school_id, [(pupil_id, category or None)], month, staff=None)` → (list id, CheckSummary):
  forms, approves and checks a list through the services.
- `reply(phone, text)` → the inbound SMS outcome; `sms_to(phone)` → kinds of the messages sent to it.
- `notices(kind=None)` → (pupil_id, kind, parent_id) of the parents' notices other than meals, after the
  worker's collection step.
- `voucher_of(pupil_id, year=2026)` → the Voucher row (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from backend.auth.model import Principal, Role
from backend.campaign import services as campaign
from backend.campaign.services import CheckSummary
from backend.consent.services import handle_reply
from backend.context import AppContext
from backend.eligibility import services as lists
from backend.eligibility.model import Category
from backend.notify.delivery_tables import ParentNoticeRow
from backend.roster.tables import Parent, School
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher
from backend.web.notice_worker import collect
from tests.backend.operations.conftest import (  # noqa: F401  (fixtures)
    enrol_device,
    make_voucher,
    school_setup,
    setup,
    with_lunch_slot,
)
from tests.backend.operations.test_ingest import flags  # noqa: F401  (fixture)

CAT = Category.TARGETED_ASSISTANCE.value
AdminToken = Callable[..., tuple[int, dict[str, str]]]


@dataclass
class Staff:
    pedagogue: Principal
    head: Principal
    district: Principal
    supplier: Principal
    headers: dict[str, dict[str, str]]


def _principal(admin_id: int, role: Role, district: str, school_ids: frozenset[int]) -> Principal:
    return Principal("admin", admin_id, role, district, school_ids)


@pytest.fixture
def people(admin_token: AdminToken, ctx: AppContext) -> Callable[..., Staff]:
    def make(school_id: int, district: str = "Almaly", district_schools: tuple[int, ...] = ()) -> Staff:
        with UnitOfWork(ctx.session_factory) as uow:
            s = uow.session
            every = frozenset(s.scalars(select(School.id).where(School.district == district)))
        roles = {
            "pedagogue": Role.SOCIAL_PEDAGOGUE,
            "head": Role.SCHOOL_HEAD,
            "district": Role.DISTRICT_ADMIN,
            "supplier": Role.SUPPLIER,
        }
        made: dict[str, Principal] = {}
        headers: dict[str, dict[str, str]] = {}
        for name, role in roles.items():
            schools = () if role is Role.DISTRICT_ADMIN else (school_id,)
            admin_id, h = admin_token(role, schools, district)
            scope = (
                every | frozenset(district_schools) if role is Role.DISTRICT_ADMIN else frozenset({school_id})
            )
            made[name], headers[name] = _principal(admin_id, role, district, scope), h
        return Staff(made["pedagogue"], made["head"], made["district"], made["supplier"], headers)

    return make


@pytest.fixture
def run_list(ctx: AppContext, people: Callable[..., Staff]) -> Callable[..., tuple[int, CheckSummary]]:
    def run(
        school_id: int, entries: list[tuple[int, str | None]], month: date, staff: Staff | None = None
    ) -> tuple[int, CheckSummary]:
        st = staff or people(school_id)
        now = ctx.clock.now()
        with UnitOfWork(ctx.session_factory) as uow:
            list_id = lists.create_list(uow, st.pedagogue, school_id, month).id
            for pupil_id, cat in entries:
                lists.add_entry(uow, st.pedagogue, list_id, pupil_id, cat)
            lists.approve(uow, st.head, list_id, now)
            summary = campaign.check(
                uow, st.head, list_id, registry=ctx.registry, settings=ctx.settings, now=now
            )
            return list_id, summary

    return run


@pytest.fixture
def reply(ctx: AppContext) -> Callable[[str, str], str]:
    def send(phone: str, text: str) -> str:
        with UnitOfWork(ctx.session_factory) as uow:
            s = uow.session
            out = handle_reply(uow, phone=phone, text=text, settings=ctx.settings, now=ctx.clock.now())
            s.commit()
            return out.outcome

    return send


@pytest.fixture
def sms_to(ctx: AppContext) -> Callable[[str], list[str]]:
    def kinds(phone: str) -> list[str]:
        with UnitOfWork(ctx.session_factory) as uow:
            s = uow.session
            stmt = (
                select(SmsMessage.kind)
                .where(SmsMessage.direction == "out", SmsMessage.phone == phone)
                .order_by(SmsMessage.id)
            )
            return list(s.scalars(stmt))

    return kinds


@pytest.fixture
def notices(ctx: AppContext) -> Callable[..., list[tuple[int, str, int | None]]]:
    def read(kind: str | None = None) -> list[tuple[int, str, int | None]]:
        with UnitOfWork(ctx.session_factory) as uow:
            collect(uow.session, ctx.clock.now())
            uow.commit()
            stmt = (
                select(ParentNoticeRow.pupil_id, ParentNoticeRow.kind, ParentNoticeRow.parent_id)
                .where(ParentNoticeRow.kind != "meal_served")
                .order_by(ParentNoticeRow.id)
            )
            if kind is not None:
                stmt = stmt.where(ParentNoticeRow.kind == kind)
            return [(v or 0, k, p) for v, k, p in uow.session.execute(stmt)]

    return read


@pytest.fixture
def voucher_of(ctx: AppContext) -> Callable[..., Any]:
    def get(pupil_id: int, year: int = 2026) -> Voucher | None:
        with ctx.session_factory() as s:  # read only: the row stays readable after the session ends
            return s.scalars(
                select(Voucher).where(Voucher.pupil_id == pupil_id, Voucher.school_year == year)
            ).first()

    return get


@pytest.fixture
def phone_of(ctx: AppContext) -> Callable[[int], str]:
    def get(parent_id: int) -> str:
        with UnitOfWork(ctx.session_factory) as uow:
            s = uow.session
            parent = s.get(Parent, parent_id)
            assert parent is not None and parent.phone is not None
            return parent.phone

    return get


@dataclass
class District:
    """The Almaly district these tests build: schools with their staff, pupils with a linked parent and
    their category in the state register, and the lists, replies and messages the tests read back."""

    make_school: Callable[..., int]
    make_pupil: Callable[..., int]
    make_parent: Callable[..., int]
    link: Callable[..., None]
    registered: Callable[..., None]
    people: Callable[..., Staff]
    run_list: Callable[..., tuple[int, CheckSummary]]
    reply: Callable[[str, str], str]
    sms_to: Callable[[str], list[str]]
    phone_of: Callable[[int], str]
    voucher_of: Callable[..., Any]
    notices: Callable[..., list[tuple[int, str, int | None]]]

    def staffed_school(self, **school: Any) -> tuple[int, Staff]:
        school_id = self.make_school(**school)
        return school_id, self.people(school_id)

    def child(
        self,
        school_id: int,
        grade: int,
        parent_id: int | None = None,
        *,
        role: str = "mother",
        in_register: bool = True,
        **parent: Any,
    ) -> tuple[int, int]:
        """A pupil linked to `parent_id` (a new parent made with `parent`'s fields when None), listed in
        the state register unless `in_register` is false. Returns (pupil, parent)."""
        pupil_id = self.make_pupil(school_id, grade=grade)
        parent_id = self.make_parent(**parent) if parent_id is None else parent_id
        self.link(pupil_id, parent_id, role)
        if in_register:
            self.registered(pupil_id)
        return pupil_id, parent_id


@pytest.fixture
def almaly(
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    registered: Callable[..., None],
    people: Callable[..., Staff],
    run_list: Callable[..., tuple[int, CheckSummary]],
    reply: Callable[[str, str], str],
    sms_to: Callable[[str], list[str]],
    phone_of: Callable[[int], str],
    voucher_of: Callable[..., Any],
    notices: Callable[..., list[tuple[int, str, int | None]]],
) -> District:
    return District(
        make_school, make_pupil, make_parent, link, registered, people, run_list, reply, sms_to, phone_of,
        voucher_of, notices,
    )  # fmt: skip
