"""The monthly list is authoritative for grades 5–11; a head returns a list; categories are data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

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

from .conftest import CAT, Staff

SEPT, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def _parent(parent_id: int, pupil_id: int, school_id: int) -> Principal:
    return Principal("parent", parent_id, school_ids=frozenset({school_id}), pupil_ids=frozenset({pupil_id}))


def test_pupil_left_off_a_later_list_is_suspended_told_and_back_when_listed(
    ctx: AppContext,
    clock: FixedClock,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    registered: Callable[..., None],
    run_list: Callable[..., Any],
    reply: Callable[[str, str], str],
    phone_of: Callable[[int], str],
    voucher_of: Callable[..., Any],
    notices: Callable[..., list[tuple[int, str, int | None]]],
) -> None:
    school = make_school()
    older, small = make_pupil(school, grade=6), make_pupil(school, grade=2)
    mother = make_parent()
    link(older, mother)
    link(small, mother)
    registered(older)
    run_list(school, [(older, CAT), (small, None)], SEPT)
    assert reply(phone_of(mother), "3#1") == "agreed"
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
    ctx: AppContext,
    clock: FixedClock,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    registered: Callable[..., None],
    people: Callable[..., Staff],
    sms_to: Callable[[str], list[str]],
    phone_of: Callable[[int], str],
) -> None:
    school = make_school()
    st = people(school)
    first, forgotten = make_pupil(school, grade=7), make_pupil(school, grade=8)
    p1, p2 = make_parent(), make_parent()
    link(first, p1)
    link(forgotten, p2)
    registered(first)
    registered(forgotten)
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
    assert sms_to(phone_of(p1)) == ["request"]
    assert sms_to(phone_of(p2)) == ["request"]


def test_categories_are_data_and_give_their_plan(
    ctx: AppContext,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    people: Callable[..., Staff],
    run_list: Callable[..., Any],
    reply: Callable[[str, str], str],
    phone_of: Callable[[int], str],
    voucher_of: Callable[..., Any],
) -> None:
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
    school = make_school()
    st = people(school)
    pupil, parent = make_pupil(school, grade=9), make_parent()
    link(pupil, parent)
    with UnitOfWork(ctx.session_factory) as uow:
        lst = lists.create_list(uow, st.pedagogue, school, NOV)
        with pytest.raises(DomainError) as e:
            lists.add_entry(uow, st.pedagogue, lst.id, pupil, "flood_2026")
        assert e.value.reason == "CATEGORY_UNKNOWN"
    # not in the state register: the district's category is confirmed by the list itself
    _, summary = run_list(school, [(pupil, "emergency_affected")], SEPT, st)
    assert (summary.confirmed, summary.returned) == (1, 0)
    assert reply(phone_of(parent), "3#1") == "agreed"
    assert voucher_of(pupil).plan == 2  # the category's plan: discounted
