"""The monthly list is authoritative for grades 5–11; a head returns a list; categories are data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from backend.auth.model import Principal
from backend.campaign import services as campaign
from backend.clock import FixedClock
from backend.context import AppContext
from backend.eligibility import services as lists
from backend.eligibility.categories import all_categories, put_category
from backend.eligibility.tables import ListReturnRow
from backend.errors import DomainError
from backend.unit_of_work import UnitOfWork
from backend.vouchers.services import activate

from .conftest import CAT, District

SEPT, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def _parent(parent_id: int, pupil_id: int, school_id: int) -> Principal:
    return Principal("parent", parent_id, school_ids=frozenset({school_id}), pupil_ids=frozenset({pupil_id}))


def test_pupil_left_off_a_later_list_is_suspended_told_and_back_when_listed(
    ctx: AppContext, clock: FixedClock, almaly: District
) -> None:
    run_list, voucher_of, notices = almaly.run_list, almaly.voucher_of, almaly.notices
    school = almaly.make_school()
    older, mother = almaly.child(school, 6)
    small, _ = almaly.child(school, 2, mother, in_register=False)
    run_list(school, [(older, CAT), (small, None)], SEPT)
    assert almaly.reply(almaly.phone_of(mother), "3#1") == "agreed"
    ids = {pupil: voucher_of(pupil).id for pupil in (older, small)}
    with UnitOfWork(ctx.session_factory) as uow:
        s = uow.session
        for pupil, voucher_id in ids.items():
            activate(uow, _parent(mother, pupil, school), voucher_id, clock.now())
        s.commit()

    clock.set(clock.now() + timedelta(days=30))  # October: the older child is not on the list
    _, summary = run_list(school, [(small, None)], OCT)
    assert summary.suspended == 1
    assert voucher_of(older).status == "suspended"
    assert voucher_of(small).status == "active"  # grades 1–4 stay universal
    assert notices("voucher_suspended") == [(older, "voucher_suspended", mother)]

    clock.set(clock.now() + timedelta(days=31))  # November: listed again
    run_list(school, [(older, CAT), (small, None)], NOV)
    assert voucher_of(older).status == "active"  # the state held before the suspension


def test_head_returns_a_list_with_a_comment_and_it_is_checked_again(
    ctx: AppContext, clock: FixedClock, almaly: District
) -> None:
    school, st = almaly.staffed_school()
    first, p1 = almaly.child(school, 7)
    forgotten, p2 = almaly.child(school, 8)
    now = clock.now()
    with UnitOfWork(ctx.session_factory) as uow:
        lst = lists.create_list(uow, st.pedagogue, school, SEPT)
        lists.add_entry(uow, st.pedagogue, lst.id, first, CAT)
        with pytest.raises(DomainError) as e:
            lists.return_list(uow, st.head, lst.id, "fix it", now)
        assert e.value.reason == "LIST_WRONG_STATE"  # a draft is with the pedagogue already
        lists.approve(uow, st.head, lst.id, now)
        with pytest.raises(DomainError) as e:
            lists.return_list(uow, st.head, lst.id, "  ", now)
        assert e.value.reason == "COMMENT_REQUIRED"
        lists.return_list(uow, st.head, lst.id, "7Б is missing a pupil", now)
        assert lst.status == "draft"
        lists.approve(uow, st.head, lst.id, now)
        campaign.check(uow, st.head, lst.id, registry=ctx.registry, settings=ctx.settings, now=now)
        # checked, then returned again in the same month: the forgotten pupil is added and checked
        lists.return_list(uow, st.head, lst.id, "add the 8th-grader", now)
        lists.add_entry(uow, st.pedagogue, lst.id, forgotten, CAT)
        lists.approve(uow, st.head, lst.id, now)
        again = campaign.check(uow, st.head, lst.id, registry=ctx.registry, settings=ctx.settings, now=now)
        comments = [r.comment for r in uow.session.scalars(select(ListReturnRow).order_by(ListReturnRow.id))]
    assert comments == ["7Б is missing a pupil", "add the 8th-grader"]
    assert again.consent.requests == 1  # only the new pupil's parent is asked; the first is not re-asked
    assert almaly.sms_to(almaly.phone_of(p1)) == ["request"]
    assert almaly.sms_to(almaly.phone_of(p2)) == ["request"]


def test_categories_are_data_and_give_their_plan(ctx: AppContext, almaly: District) -> None:
    with UnitOfWork(ctx.session_factory) as uow:
        assert sorted(all_categories(uow.session)) == [
            "below_subsistence_minimum",
            "orphan_or_no_parental_care",
            "targeted_social_assistance",
        ]
        put_category(
            uow,
            "emergency_affected",
            name_kk="Төтенше жағдайдан зардап шеккен отбасылар",
            name_ru="Семьи, пострадавшие от чрезвычайной ситуации",
            plan=2,
            in_register=False,
            active=True,
        )
        with pytest.raises(DomainError) as e:
            put_category(uow, "x", name_kk="a", name_ru="b", plan=1, in_register=False, active=True)
        assert e.value.reason == "CATEGORY_CODE_INVALID"
        with pytest.raises(DomainError) as e:
            put_category(uow, "flood", name_kk="a", name_ru="b", plan=3, in_register=False, active=True)
        assert e.value.reason == "PLAN_UNKNOWN"
    school, st = almaly.staffed_school()
    pupil, parent = almaly.child(school, 9, in_register=False)
    with UnitOfWork(ctx.session_factory) as uow:
        lst = lists.create_list(uow, st.pedagogue, school, NOV)
        with pytest.raises(DomainError) as e:
            lists.add_entry(uow, st.pedagogue, lst.id, pupil, "flood_2026")
        assert e.value.reason == "CATEGORY_UNKNOWN"
    # not in the state register: the district's category is confirmed by the list itself
    _, summary = almaly.run_list(school, [(pupil, "emergency_affected")], SEPT, st)
    assert (summary.confirmed, summary.returned) == (1, 0)
    assert almaly.reply(almaly.phone_of(parent), "3#1") == "agreed"
    assert almaly.voucher_of(pupil).plan == 2  # the category's plan: discounted
