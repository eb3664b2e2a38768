"""The head's calendar and menu in a real browser, and the parent reading that menu: the head sets the
meal times, adds a holiday and takes it off again, publishes a day's lunch with its allergens ticked;
the parent's menu page shows the dishes with the allergens as words in the page's language. Every
page is checked by axe-core and photographed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.roster.tables import Guardianship, Parent
from demo.staff import seed_staff

from .harness import LiveServer, otp_code, run_axe, shot
from .test_console_journey import WIDE, _sign_in, _submit

MOTHER = "+77011110002"
PHONE = {"width": 390, "height": 844}


def test_the_head_keeps_the_calendar_and_menu_and_the_parent_reads_it(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    seed_staff(live.ctx.session_factory, live.district.school_id)
    head = browser.new_context(
        locale="en", extra_http_headers={"Accept-Language": "en"}, viewport=WIDE
    ).new_page()
    _sign_in(head, live.url, "school.head")

    # the calendar: lunch a little earlier, a holiday added and removed again
    head.goto(live.url + "/staff/calendar")
    head.fill("#start_2", "12:15")
    head.fill("#end_2", "13:45")
    _submit(head, "/staff/calendar/slots")
    assert "done=slots" in head.url and head.input_value("#start_2") == "12:15"
    head.fill("#day", "2026-12-16")
    head.select_option("#kind", "holiday")
    head.fill("#note", "Independence Day")
    _submit(head, "/staff/calendar/days")
    assert "Independence Day" in (head.text_content("table >> nth=1") or "")
    assert run_axe(head) == []
    shot(head, "en", "console-journey-calendar", tmp_path)
    _submit(head, "/staff/calendar/days/2026-12-16/remove")
    assert "done=removed" in head.url and "Independence Day" not in (head.text_content("main") or "")

    # the menu: today's lunch, two dishes, the second with milk
    head.goto(live.url + "/staff/menu")
    with head.expect_navigation():
        head.click('a[href^="/staff/menu/2026-12-08/2"]')
    head.fill("#kk_1", "Палау")
    head.fill("#ru_1", "Плов")
    head.fill("#kk_2", "Айран")
    head.fill("#ru_2", "Айран")
    head.locator("details >> nth=1").locator("summary").click()
    head.check("#allergen_2_milk")
    assert run_axe(head) == []
    shot(head, "en", "console-journey-menu-day", tmp_path)
    _submit(head, "/staff/menu/2026-12-08/2")
    assert "done=published" in head.url
    week = head.text_content("main") or ""
    assert "Палау / Плов" in week and "Allergens: Milk" in week
    shot(head, "en", "console-journey-menu", tmp_path)

    # the parent sees the menu in Kazakh, the allergen in words
    parent = browser.new_context(
        locale="kk", extra_http_headers={"Accept-Language": "kk"}, viewport=PHONE
    ).new_page()
    parent.goto(live.url + "/")
    parent.fill("#phone", "8 701 111 00 02")
    with parent.expect_navigation():
        parent.locator('form[action="/sign-in"] button[type="submit"]').first.click()
    parent.fill("#code", otp_code(live, MOTHER))
    with parent.expect_navigation():
        parent.locator('form[action="/sign-in/code"] button[type="submit"]').first.click()
    with live.ctx.session_factory() as session:
        parent_id = session.scalars(select(Parent.id).where(Parent.phone == MOTHER)).one()
        pupil = session.scalars(
            select(Guardianship.pupil_id).where(Guardianship.parent_id == parent_id)
        ).first()
    parent.goto(f"{live.url}/child/{pupil}/menu")
    text = parent.inner_text("main")
    assert "Палау" in text and "Аллергендер: Сүт" in text and "milk" not in text
    assert "12:15–13:45" in text  # the meal times the head set
    assert run_axe(parent) == []
    shot(parent, "kk", "menu-allergens", tmp_path)
