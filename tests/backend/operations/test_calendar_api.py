from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.calendar.model import Tariff
from backend.calendar.services import add_tariff, load_calendar, load_tariffs
from backend.unit_of_work import UnitOfWork

AdminToken = Callable[..., tuple[int, dict[str, str]]]
API = "/api/admin/v1"


def test_school_head_sets_slots_weekdays_and_days(
    client: TestClient,
    uow_factory: Callable[[], UnitOfWork],
    make_school: Callable[..., int],
    admin_token: AdminToken,
) -> None:
    school = make_school()
    _, head = admin_token(Role.SCHOOL_HEAD, (school,))
    slots = [{"slot": 2, "start": "12:00", "end": "13:30"}, {"slot": 1, "start": "09:00", "end": "10:00"}]
    assert client.put(f"{API}/schools/{school}/meal-slots", json=slots, headers=head).json() == {"slots": 2}
    assert (
        client.put(
            f"{API}/schools/{school}/weekdays", json={"weekdays": [0, 1, 2, 3, 4, 5]}, headers=head
        ).status_code
        == 200
    )
    r = client.post(
        f"{API}/schools/{school}/calendar-days",
        json={"day": "2026-09-16", "school_day": True, "slots": [2]},
        headers=head,
    )
    assert r.status_code == 200
    view = client.get(f"{API}/schools/{school}/calendar?start=2026-09-14&days=7", headers=head).json()
    assert [s["slot"] for s in view["slots"]] == [1, 2] and view["weekdays"] == [0, 1, 2, 3, 4, 5]
    assert [d["slots"] for d in view["days"]] == [[1, 2], [1, 2], [2], [1, 2], [1, 2], [1, 2], []]
    with uow_factory() as uow:
        assert load_calendar(uow.session, school).slots_on(date(2026, 9, 19)) == (1, 2)  # a six-day week


def test_overlapping_slots_refused_and_roles(
    client: TestClient, make_school: Callable[..., int], admin_token: AdminToken
) -> None:
    school = make_school()
    _, head = admin_token(Role.SCHOOL_HEAD, (school,))
    bad = [{"slot": 1, "start": "09:00", "end": "11:00"}, {"slot": 2, "start": "10:00", "end": "12:00"}]
    r = client.put(f"{API}/schools/{school}/meal-slots", json=bad, headers=head)
    assert (r.status_code, r.json()["reason"]) == (400, "OVERLAPPING_SLOTS")
    r = client.put(f"{API}/schools/{school}/weekdays", json={"weekdays": [7]}, headers=head)
    assert (r.status_code, r.json()["reason"]) == (400, "BAD_WEEKDAYS")
    _, supplier = admin_token(Role.SUPPLIER, (school,))
    assert client.put(f"{API}/schools/{school}/meal-slots", json=[], headers=supplier).status_code == 403
    _, other = admin_token(Role.SCHOOL_HEAD, (make_school(),))
    assert client.put(f"{API}/schools/{school}/meal-slots", json=[], headers=other).status_code == 404


def test_district_holiday_applies_to_every_school_of_the_district(
    client: TestClient, make_school: Callable[..., int], admin_token: AdminToken
) -> None:
    a, b, elsewhere = (
        make_school(district="Medeu"),
        make_school(district="Medeu"),
        make_school(district="Auezov"),
    )
    _, district = admin_token(Role.DISTRICT_ADMIN, (a, b), "Medeu")
    _, auezov = admin_token(Role.DISTRICT_ADMIN, (elsewhere,), "Auezov")
    for sid, headers in ((a, district), (b, district), (elsewhere, auezov)):
        client.put(
            f"{API}/schools/{sid}/meal-slots",
            json=[{"slot": 1, "start": "12:00", "end": "13:00"}],
            headers=headers,
        )
    r = client.post(
        f"{API}/districts/Medeu/calendar-days",
        json={"day": "2026-09-14", "school_day": False, "note": "holiday"},
        headers=district,
    )
    assert r.status_code == 200
    assert (
        client.post(
            f"{API}/districts/Medeu/calendar-days",
            json={"day": "2026-09-15", "school_day": False},
            headers=auezov,
        ).status_code
        == 404
    )

    def monday(sid: int, headers: dict[str, str]) -> list[int]:
        days = client.get(f"{API}/schools/{sid}/calendar?start=2026-09-14&days=1", headers=headers).json()[
            "days"
        ]
        return list(days[0]["slots"])

    assert (monday(a, district), monday(b, district), monday(elsewhere, auezov)) == ([], [], [1])


def test_tariffs_in_tiyn_by_district_admin(
    client: TestClient,
    uow_factory: Callable[[], UnitOfWork],
    make_school: Callable[..., int],
    admin_token: AdminToken,
) -> None:
    school = make_school()
    _, district = admin_token(Role.DISTRICT_ADMIN, (school,), "Almaly")
    base = {
        "plan": 2,
        "slot": 1,
        "valid_from": "2026-09-01",
        "amount_tiyn": 90_000,
        "state_share_tiyn": 54_000,
    }
    with uow_factory() as uow:  # the operator's default (python -m backend tariffs add)
        add_tariff(uow, Tariff(None, 2, 1, date(2026, 9, 1), 90_000, 54_000))
    r = client.post(f"{API}/tariffs", json=base, headers=district)
    # the defaults price every district's meals; one district's admin may not change them
    assert (r.status_code, r.json()["reason"]) == (403, "DEFAULT_TARIFF_NATIONAL")
    r = client.post(
        f"{API}/tariffs",
        json={**base, "school_id": school, "valid_from": "2026-09-16", "amount_tiyn": 95_000},
        headers=district,
    )
    assert r.status_code == 201
    r = client.post(
        f"{API}/tariffs", json={**base, "school_id": school, "state_share_tiyn": 100_000}, headers=district
    )
    assert (r.status_code, r.json()["reason"]) == (400, "BAD_TARIFF")
    _, head = admin_token(Role.SCHOOL_HEAD, (school,))
    r = client.post(f"{API}/tariffs", json={**base, "school_id": school}, headers=head)
    assert r.status_code == 403
    listed = client.get(f"{API}/schools/{school}/tariffs", headers=head).json()["tariffs"]
    assert [(t["school_id"], t["amount_tiyn"]) for t in listed] == [(None, 90_000), (school, 95_000)]
    with uow_factory() as uow:
        assert set(load_tariffs(uow.session, [school])) == {
            Tariff(None, 2, 1, date(2026, 9, 1), 90_000, 54_000),
            Tariff(school, 2, 1, date(2026, 9, 16), 95_000, 54_000),
        }


def test_a_tariff_period_is_never_replaced_silently_nor_priced_at_zero(
    client: TestClient, make_school: Callable[..., int], admin_token: AdminToken
) -> None:
    school = make_school()
    _, district = admin_token(Role.DISTRICT_ADMIN, (school,), "Almaly")
    base = {"school_id": school, "plan": 1, "slot": 1, "valid_from": "2026-09-01"}
    first = {**base, "amount_tiyn": 90_000, "state_share_tiyn": 90_000}
    assert client.post(f"{API}/tariffs", json=first, headers=district).status_code == 201
    again = {**first, "amount_tiyn": 80_000, "state_share_tiyn": 80_000}
    r = client.post(f"{API}/tariffs", json=again, headers=district)
    assert (r.status_code, r.json()["reason"]) == (409, "TARIFF_OVERLAPS")
    r = client.post(
        f"{API}/tariffs", json={**base, "amount_tiyn": 0, "state_share_tiyn": 0}, headers=district
    )
    assert (r.status_code, r.json()["reason"]) == (400, "TARIFF_NOT_POSITIVE")
    later = {**again, "valid_from": "2026-10-01"}
    assert client.post(f"{API}/tariffs", json=later, headers=district).status_code == 201
    listed = client.get(f"{API}/schools/{school}/tariffs", headers=district).json()["tariffs"]
    assert [(t["valid_from"], t["amount_tiyn"]) for t in listed] == [
        ("2026-09-01", 90_000),
        ("2026-10-01", 80_000),
    ]
