"""The head's calendar and menu pages: meal times, the school week, holidays added and removed, a menu
published per day and slot with allergens; the supplier reads it with the ratings; a head of another
district's school gets 404 for every page and form of this school and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.auth.model import Role
from backend.auth.testing import make_admin
from backend.calendar.services import days_of_school, load_calendar
from backend.calendar.tables import CalendarDayRow
from backend.menu.services import menus
from backend.menu.tables import MenuRow
from demo import data as D

from .conftest import Web, csrf_of

TODAY = date(2026, 12, 8)  # the fixture's Tuesday


def _post(client: TestClient, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    response: httpx.Response = client.post(action, data={"csrf": csrf_of(client.get(page).text), **data})
    return response


def test_the_head_sets_meal_times_the_week_and_holidays(web: Web, staff: Callable[..., TestClient]) -> None:
    head, school = staff("school.head"), web.district.school_id
    page = head.get("/staff/calendar")
    assert page.status_code == 200 and 'value="08:30"' in page.text and "Breakfast" in page.text
    slots = {
        "school": str(school),
        "start_1": "08:00",
        "end_1": "08:45",
        "start_2": "12:00",
        "end_2": "12:40",
    }
    r = _post(head, "/staff/calendar", "/staff/calendar/slots", slots)
    assert r.status_code == 303 and "done=slots" in r.headers["location"]
    overlap = {**slots, "start_3": "12:30", "end_3": "13:00"}
    r = _post(head, "/staff/calendar", "/staff/calendar/slots", overlap)
    assert r.status_code == 400 and "Two meals overlap" in r.text and 'value="12:30"' in r.text
    with web.ctx.session_factory() as session:
        cal = load_calendar(session, school)
    assert [(s.slot, s.start, s.end) for s in cal.slots] == [
        (1, time(8, 0), time(8, 45)),
        (2, time(12, 0), time(12, 40)),
    ]
    week = {"school": str(school), **{f"weekday_{d}": "1" for d in range(6)}}  # Monday to Saturday
    assert _post(head, "/staff/calendar", "/staff/calendar/weekdays", week).status_code == 303
    holiday = {"school": str(school), "day": "2026-12-16", "kind": "holiday", "note": "Independence Day"}
    assert _post(head, "/staff/calendar", "/staff/calendar/days", holiday).status_code == 303
    r = _post(head, "/staff/calendar", "/staff/calendar/days", {**holiday, "day": "16.12"})
    assert r.status_code == 400 and "cannot be read" in r.text
    with web.ctx.session_factory() as session:
        cal = load_calendar(session, school)
        assert cal.weekdays == frozenset(range(6))
        assert cal.is_school_day(date(2026, 12, 12)) and not cal.is_school_day(date(2026, 12, 16))
    page = head.get("/staff/calendar")
    assert "Independence Day" in page.text and "16.12.2026" in page.text
    r = _post(head, "/staff/calendar", "/staff/calendar/days/2026-12-16/remove", {"school": str(school)})
    assert r.status_code == 303
    with web.ctx.session_factory() as session:
        assert days_of_school(session, school) == []
        assert load_calendar(session, school).is_school_day(date(2026, 12, 16))
    r = _post(head, "/staff/calendar", "/staff/calendar/days/2026-12-16/remove", {"school": str(school)})
    assert r.status_code == 404


def test_the_head_publishes_a_menu_and_the_supplier_reads_it(
    web: Web, staff: Callable[..., TestClient]
) -> None:
    head, school = staff("school.head"), web.district.school_id
    week = head.get("/staff/menu")
    assert week.status_code == 200 and "/staff/menu/2026-12-08/1" in week.text
    form = head.get("/staff/menu/2026-12-08/2")
    assert form.status_code == 200 and "Cereals containing gluten" in form.text
    dishes = {
        "school": str(school),
        "kk_1": "Палау",
        "ru_1": "Плов",
        "kk_2": "Сүт",
        "ru_2": "Молоко",
        "allergen_2_milk": "1",
        "kk_4": "Нан",
        "ru_4": "Хлеб",
        "allergen_4_gluten": "1",
        "allergen_4_sesame": "1",
    }
    r = _post(head, "/staff/menu/2026-12-08/2", "/staff/menu/2026-12-08/2", dishes)
    assert r.status_code == 303 and "done=published" in r.headers["location"]
    half = {"school": str(school), "kk_1": "Палау", "ru_1": ""}
    r = _post(head, "/staff/menu/2026-12-09/2", "/staff/menu/2026-12-09/2", half)
    assert r.status_code == 400 and "in Kazakh and in Russian" in r.text and 'value="Палау"' in r.text
    r = _post(head, "/staff/menu/2026-12-09/3", "/staff/menu/2026-12-09/3", dict(dishes))
    assert r.status_code == 400 and "calendar page" in r.text  # the school has no third meal
    with web.ctx.session_factory() as session:
        [menu] = menus(session, [school], TODAY, 7)
    assert (menu.day, menu.slot) == (TODAY, 2)
    assert [(d.kk, d.ru, d.allergens) for d in menu.dishes] == [
        ("Палау", "Плов", ()),
        ("Сүт", "Молоко", ("milk",)),
        ("Нан", "Хлеб", ("gluten", "sesame")),
    ]
    again = head.get("/staff/menu/2026-12-08/2")
    assert 'value="Нан"' in again.text and 'name="allergen_3_sesame" value="1" checked' in again.text
    shown = head.get("/staff/menu").text
    assert "Плов" in shown and "Milk" in shown and "Sesame" in shown
    supplier = staff("supplier", "ru")
    rated = supplier.get("/staff/menu")
    assert rated.status_code == 200 and "Плов" in rated.text and "Кунжут" in rated.text
    assert "Оценок пока нет." in rated.text and "/staff/menu/2026-12-08/2" not in rated.text
    assert supplier.get("/staff/menu/2026-12-08/2").status_code == 403


def test_a_foreign_head_gets_404_and_changes_nothing(
    web: Web, staff: Callable[..., TestClient], foreign_head: str
) -> None:
    school = web.district.school_id
    other = staff(foreign_head)
    for path in [f"/staff/calendar?school={school}", f"/staff/menu?school={school}"]:
        r = other.get(path)
        assert r.status_code == 404 and D.SCHOOL_NAME not in r.text, path
    assert other.get(f"/staff/menu/2026-12-08/1?school={school}").status_code == 404
    csrf = csrf_of(other.get("/staff/calendar").text)
    for action, data in [
        ("/staff/calendar/slots", {"start_1": "07:00", "end_1": "07:30"}),
        ("/staff/calendar/weekdays", {"weekday_6": "1"}),
        ("/staff/calendar/days", {"day": "2026-12-10", "kind": "holiday"}),
        ("/staff/calendar/days/2026-12-10/remove", {}),
        ("/staff/menu/2026-12-08/1", {"kk_1": "Ботқа", "ru_1": "Каша"}),
    ]:
        r = other.post(action, data={"csrf": csrf, "school": str(school), **data})
        assert r.status_code == 404, action
    with web.ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(MenuRow)) == 0
        assert session.scalar(select(func.count()).select_from(CalendarDayRow)) == 0
        assert [s.start for s in load_calendar(session, school).slots] == [time(8, 30), time(12, 30)]


def test_the_api_removes_a_schools_own_day_only(web: Web) -> None:
    school = web.district.school_id
    with web.ctx.session_factory() as session:
        _, token = make_admin(session, Role.SCHOOL_HEAD, (school,), None, now=web.clock.now())
        session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client, days = web.client(), f"/api/admin/v1/schools/{school}/calendar-days"
    assert (
        client.post(days, json={"day": "2026-12-16", "school_day": False}, headers=headers).status_code == 200
    )
    assert client.delete(f"{days}/2026-12-16", headers=headers).json() == {
        "day": "2026-12-16",
        "removed": True,
    }
    r = client.delete(f"{days}/2026-12-16", headers=headers)
    assert (r.status_code, r.json()["reason"]) == (404, "NOT_FOUND")
