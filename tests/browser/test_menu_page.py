"""The parent's menu page in a real browser: the school's published dishes for the week, in the page's
language, with allergens in words; checked by axe-core and photographed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.auth.model import Principal, Role
from backend.clock import local_date
from backend.menu.services import publish
from backend.roster.tables import Guardianship, Parent
from backend.unit_of_work import UnitOfWork

from .conftest import BREAKFAST
from .harness import LiveServer, otp_code, run_axe, shot

MOTHER = "+77011110002"
PHONE = {"width": 390, "height": 844}
DISHES = {
    "kk": ("Сүтті күріш ботқасы", "Алма"),
    "ru": ("Рисовая каша на молоке", "Яблоко"),
}
MILK = {"kk": "Сүт", "ru": "Молоко"}  # the allergen in words, not its code


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_menu_page_shows_the_published_week(
    browser: Any, live: LiveServer, lang: str, tmp_path: Path
) -> None:
    ctx = live.ctx
    school = live.district.school_id
    today = local_date(BREAKFAST)
    head = Principal("admin", 1, Role.SCHOOL_HEAD, None, frozenset({school}))
    with UnitOfWork(ctx.session_factory) as uow:
        for offset, slot in ((0, 1), (0, 2), (1, 1)):
            dishes: list[object] = [
                {"kk": DISHES["kk"][0], "ru": DISHES["ru"][0], "allergens": ["milk"]},
                {"kk": DISHES["kk"][1], "ru": DISHES["ru"][1]},
            ]
            publish(uow, head, school, today + timedelta(days=offset), slot, dishes, ctx.clock.now())
    page = browser.new_context(
        locale=lang, extra_http_headers={"Accept-Language": lang}, viewport=PHONE
    ).new_page()
    page.goto(live.url + "/")
    page.fill("#phone", "8 701 111 00 02")
    with page.expect_navigation():
        page.locator('form[action="/sign-in"] button[type="submit"]').first.click()
    page.fill("#code", otp_code(live, MOTHER))
    with page.expect_navigation():
        page.locator('form[action="/sign-in/code"] button[type="submit"]').first.click()
    assert page.url.endswith("/children")
    with ctx.session_factory() as session:
        parent_id = session.scalars(select(Parent.id).where(Parent.phone == MOTHER)).one()
        pupil = session.scalars(
            select(Guardianship.pupil_id).where(Guardianship.parent_id == parent_id)
        ).first()
        assert pupil is not None
    page.goto(f"{live.url}/child/{pupil}/menu")
    text = page.inner_text("main")
    assert DISHES[lang][0] in text and DISHES[lang][1] in text
    assert f"{MILK[lang]}" in text.split(DISHES[lang][0], 1)[1] and "milk" not in text
    assert run_axe(page) == []
    shot(page, lang, "menu", tmp_path)
