"""Consent remembered within the school year, one request per parent across schools, a phone arriving
later, grade 1–4 pupils with no parent, and the parent told of suspension, revocation and expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.auth.model import Role
from backend.clock import KZ_TZ, FixedClock
from backend.consent.services import CLOSE, followups, make_handlers, reask, reaskable
from backend.consent.tables import ConsentIssue, ConsentRequest
from backend.context import AppContext
from backend.errors import DomainError
from backend.imports.model import ImportKind
from backend.imports.services import run_import
from backend.roster import district
from backend.roster.tables import Parent, Pupil
from backend.unit_of_work import UnitOfWork
from backend.vouchers.services import activate_by_school, expire_vouchers, revoke

from .conftest import CAT, District, Staff

SEPT, OCT = date(2026, 9, 1), date(2026, 10, 1)


def test_a_september_decline_is_not_asked_again_until_the_district_re_asks(
    ctx: AppContext, clock: FixedClock, almaly: District
) -> None:
    run_list, reply, sms_to = almaly.run_list, almaly.reply, almaly.sms_to
    school, st = almaly.staffed_school()
    pupil, parent = almaly.child(school, 6)
    phone = almaly.phone_of(parent)
    run_list(school, [(pupil, CAT)], SEPT, st)
    assert reply(phone, "3#2") == "declined"
    clock.set(datetime(2026, 10, 5, 9, 0, tzinfo=KZ_TZ))
    _, october = run_list(school, [(pupil, CAT)], OCT, st)
    assert (october.consent.requests, october.consent.remembered) == (0, 1)
    assert sms_to(phone) == ["request", "declined"]  # no second request in October
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        september = s.scalars(select(ConsentRequest).order_by(ConsentRequest.id)).first()
        assert september is not None
        reask(uow, st.district, september.id, settings=ctx.settings, now=clock.now())
        s.commit()
    assert sms_to(phone) == ["request", "declined", "request"]
    assert reply(phone, "3#1") == "agreed"
    assert almaly.voucher_of(pupil).status == "awaiting_activation"


def test_siblings_at_two_schools_get_one_request(almaly: District) -> None:
    a, b = almaly.make_school(), almaly.make_school()
    at_a, mother = almaly.child(a, 5)
    at_b, _ = almaly.child(b, 9, mother)
    almaly.run_list(a, [(at_a, CAT)], SEPT)
    _, second = almaly.run_list(b, [(at_b, CAT)], SEPT)
    assert (second.consent.requests, second.consent.joined) == (0, 1)
    assert almaly.sms_to(almaly.phone_of(mother)) == ["request"]
    assert almaly.reply(almaly.phone_of(mother), "3#1") == "agreed"
    assert almaly.voucher_of(at_a).school_id == a and almaly.voucher_of(at_b).school_id == b


def test_a_phone_arriving_later_gets_the_request_then(
    ctx: AppContext, clock: FixedClock, almaly: District
) -> None:
    school, st = almaly.staffed_school()
    pupil, parent = almaly.child(school, 6, phone=None)
    _, sept = almaly.run_list(school, [(pupil, CAT)], SEPT, st)
    assert dict(sept.consent.issues) == {"NO_PHONE": 1}
    clock.advance(timedelta(days=20))
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        p = s.get(Parent, parent)
        assert p is not None
        csv = f"iin,full_name,phone\n{p.iin},{p.full_name},+77015550101\n".encode()
        report = run_import(
            uow,
            ImportKind.PARENTS,
            csv,
            "p.csv",
            actor="test",
            settings=ctx.settings,
            now=clock.now(),
            scope=st.district,
        )
        s.commit()
        assert (report.updated, report.resumed) == (1, 1)
        assert [f.reason for f in followups(s, st.district)] == []
    assert almaly.sms_to("+77015550101") == ["request"]


def test_grade_1_to_4_without_a_parent_is_followed_up_and_the_district_decides_school_activation(
    ctx: AppContext, clock: FixedClock, almaly: District
) -> None:
    school, st = almaly.staffed_school()
    pupil = almaly.make_pupil(school, grade=1)
    almaly.run_list(school, [(pupil, None)], SEPT, st)
    voucher_id = almaly.voucher_of(pupil).id
    with UnitOfWork(ctx.session_factory) as uow:
        assert [(f.pupil_id, f.reason) for f in followups(uow.session, st.district)] == [(pupil, "UNLINKED")]
        with pytest.raises(DomainError) as e:
            activate_by_school(uow, st.head, voucher_id, clock.now())
        assert e.value.reason == "SCHOOL_ACTIVATION_OFF"
        district.put(uow, "Almaly", school_activates_unlinked=True, year_end_month=None, year_end_day=None)
        activate_by_school(uow, st.head, voucher_id, clock.now())
    assert almaly.voucher_of(pupil).status == "active"


def test_a_link_for_a_grade_1_pupil_resolves_the_follow_up_without_an_sms(
    ctx: AppContext, almaly: District, sent_sms: Callable[[], list[tuple[str, str, str]]]
) -> None:
    school, st = almaly.staffed_school()
    pupil, parent = almaly.make_pupil(school, grade=3), almaly.make_parent()
    almaly.run_list(school, [(pupil, None)], SEPT, st)
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        pupil_iin = s.scalar(select(Pupil.iin).where(Pupil.id == pupil))
        parent_iin = s.scalar(select(Parent.iin).where(Parent.id == parent))
        csv = f"pupil_iin,parent_iin,role\n{pupil_iin},{parent_iin},father\n".encode()
        report = run_import(
            uow,
            ImportKind.LINKS,
            csv,
            "l.csv",
            actor="t",
            settings=ctx.settings,
            now=ctx.clock.now(),
            scope=st.district,
        )
        s.commit()
        assert report.resumed == 1
        assert s.scalars(select(ConsentIssue.resolved_at)).one() is not None
    assert sent_sms() == []  # grades 1–4 need no consent


def test_parent_told_on_revocation_and_expiry(
    ctx: AppContext, clock: FixedClock, almaly: District, make_voucher: Callable[..., int]
) -> None:
    school = almaly.make_school()
    a, father = almaly.child(school, 2, role="father", in_register=False, language="ru")
    b, mother = almaly.child(school, 3, in_register=False)
    va = make_voucher(a, school)
    make_voucher(b, school)
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        revoke(
            uow,
            va,
            school_ids=frozenset({school}),
            actor="admin:1",
            reason="duplicate record",
            now=clock.now(),
        )
        s.commit()
    clock.set(datetime(2027, 6, 1, 0, 30, tzinfo=KZ_TZ))
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        assert expire_vouchers(uow, now=clock.now()) == 1  # the revoked one stays revoked
        s.commit()
    assert almaly.notices() == [(a, "voucher_revoked", father), (b, "voucher_expired", mother)]


def test_the_district_re_asks_a_campaigns_decliners_and_unanswered_one_sms_each(
    ctx: AppContext,
    client: TestClient,
    make_school: Callable[..., int],
    registered: Callable[..., None],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    people: Callable[..., Staff],
    run_list: Callable[..., Any],
    reply: Callable[[str, str], str],
    sms_to: Callable[[str], list[str]],
    phone_of: Callable[[int], str],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    school = make_school()
    st = people(school)
    declined, agreed, silent = (make_parent() for _ in range(3))
    kids = {p: make_pupil(school, grade=7) for p in (declined, agreed, silent)}
    link(make_pupil(school, grade=8), declined)  # a second child: still one request, one SMS
    for parent, pupil in kids.items():
        link(pupil, parent)
        registered(pupil)
    list_id, _ = run_list(school, [(k, CAT) for k in kids.values()], SEPT, st)
    assert reply(phone_of(declined), "3#2") == "declined"
    assert reply(phone_of(agreed), "3#1") == "agreed"
    with UnitOfWork(ctx.session_factory) as uow:
        req = uow.session.scalars(select(ConsentRequest).where(ConsentRequest.parent_id == silent)).one()
        make_handlers(ctx.settings)[CLOSE](uow.session, {"request_id": req.id, "attempt": 1}, ctx.clock.now())
        uow.commit()
        assert reaskable(uow.session, st.district, list_id) == {"declined": 1, "expired": 1}
    url = f"/api/admin/v1/eligibility-lists/{list_id}/consent-reask"
    r = client.post(url, json={"statuses": ["declined"]}, headers=st.headers["head"])
    assert r.status_code == 403
    foreign = admin_token(Role.DISTRICT_ADMIN, (), "Medeu")[1]
    r = client.post(url, json={"statuses": ["declined"]}, headers=foreign)
    assert r.status_code == 404
    r = client.post(url, json={"statuses": ["declined"]}, headers=st.headers["district"])
    assert (r.status_code, r.json()) == (200, {"reasked": 1})
    assert sms_to(phone_of(declined)) == ["request", "declined", "request"]
    assert sms_to(phone_of(silent)) == ["request"]
    r = client.post(url, json={"statuses": ["declined", "expired"]}, headers=st.headers["district"])
    assert r.json() == {"reasked": 1}  # the decliner's request is pending again: only the silent one
    assert sms_to(phone_of(silent)) == ["request", "request"]
    assert sms_to(phone_of(agreed)) == ["request", "agreed"]  # an answer that agreed is never re-asked
    with UnitOfWork(ctx.session_factory) as uow:
        assert reaskable(uow.session, st.district, list_id) == {"declined": 0, "expired": 0}
