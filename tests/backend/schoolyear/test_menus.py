"""Menus: a school publishes each day's slot (dishes in Kazakh and Russian, allergens); parents read
their child's school's menu (API and page); the supplier sees the menu its ratings refer to."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import FixedClock
from tests.backend.operations.conftest import LUNCH, Setup

PORRIDGE = {"kk": "Сүтті күріш ботқасы", "ru": "Рисовая каша на молоке", "allergens": ["milk"]}
TEA = {"kk": "Шай", "ru": "Чай"}


def test_menus_published_read_by_parents_and_rated_for_the_supplier(
    client: TestClient,
    clock: FixedClock,
    setup: Setup,
    make_school: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
    parent_token: Callable[[int], dict[str, str]],
) -> None:
    school, day = setup.school_id, LUNCH.date()
    _, head = admin_token(Role.SCHOOL_HEAD, (school,), "Almaly")
    url = f"/api/admin/v1/schools/{school}/menus"
    r = client.put(url, json={"day": f"{day}", "slot": 1, "dishes": [PORRIDGE, TEA]}, headers=head)
    assert r.status_code == 200, r.text
    assert r.json()["dishes"] == [PORRIDGE, {**TEA, "allergens": []}]
    for dishes, slot, reason in (
        ([], 1, "MENU_EMPTY"),
        ([{"kk": "Шай"}], 1, "DISH_INVALID"),
        ([TEA], 7, "SLOT_UNKNOWN"),
    ):
        r = client.put(url, json={"day": f"{day}", "slot": slot, "dishes": dishes}, headers=head)
        assert (r.status_code, r.json()["reason"]) == (400, reason)
    _, foreign = admin_token(Role.SCHOOL_HEAD, (make_school(),), "Almaly")
    assert (
        client.put(url, json={"day": f"{day}", "slot": 1, "dishes": [TEA]}, headers=foreign).status_code
        == 404
    )

    parent = parent_token(setup.parent_id)
    r = client.get(
        "/api/parent/v1/menus", params={"pupil_id": setup.pupil_id, "start": f"{day}"}, headers=parent
    )
    assert [(m["day"], m["slot"], [d["kk"] for d in m["dishes"]]) for m in r.json()["menus"]] == [
        (f"{day}", 1, ["Сүтті күріш ботқасы", "Шай"])
    ]
    r = client.get("/api/parent/v1/menus", params={"pupil_id": setup.pupil_id + 999}, headers=parent)
    assert r.status_code == 404

    # the parent's page shows it in the page's language
    clock.set(LUNCH)
    client.cookies.set("sm_session", parent["Authorization"].removeprefix("Bearer "))
    page = client.get(f"/child/{setup.pupil_id}/menu", headers={"accept-language": "ru"}).text
    assert "Рисовая каша на молоке" in page and "No menu published" not in page
    assert "Аллергены: Молоко" in page and "milk" not in page  # the allergen in words, not its code

    # a rated meal in that slot: the supplier's view of the menu carries it
    meal = setup.device.event(setup.voucher_id, LUNCH)
    clock.set(LUNCH.replace(minute=5))
    assert setup.device.upload(client, setup.device.batch([meal])).json()["accepted"] == 1
    client.cookies.clear()
    r = client.post(f"/api/parent/v1/meals/{meal.event_id.hex()}/rating", json={"stars": 4}, headers=parent)
    assert r.status_code == 201, r.text
    _, supplier = admin_token(Role.SUPPLIER, (school,), "Almaly")
    [rated] = client.get(f"{url}/rated", params={"start": f"{day}"}, headers=supplier).json()["menus"]
    assert (rated["slot"], rated["ratings"], rated["average_x100"]) == (1, 1, 400)
