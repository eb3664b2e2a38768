from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import KZ_TZ, FixedClock
from backend.feedback.model import summarise
from backend.roster.tables import School, Supplier
from backend.unit_of_work import UnitOfWork
from backend.web.notice_worker import collect

from .conftest import LUNCH, Setup

AdminToken = Callable[..., tuple[int, dict[str, str]]]
EVENING = datetime(2026, 9, 14, 18, 0, tzinfo=KZ_TZ)


def _served(client: TestClient, clock: FixedClock, s: Setup, days: int = 1) -> list[str]:
    d = s.device
    events = [d.event(s.voucher_id, LUNCH + timedelta(days=i)) for i in range(days)]
    clock.set(EVENING + timedelta(days=days))
    assert d.upload(client, d.batch(events)).json()["flagged"] == 0
    return [e.event_id.hex() for e in events]


def _supplier(uow_factory: Callable[[], UnitOfWork], *school_ids: int) -> int:
    with uow_factory() as uow:
        sup = Supplier(bin="990000000001", name="Tasty LLP")
        uow.session.add(sup)
        uow.session.flush()
        for sid in school_ids:
            school = uow.session.get(School, sid)
            assert school is not None
            school.supplier_id = sup.id
        uow.commit()
        return sup.id


def test_rate_once_and_aggregate(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    school_setup: Callable[..., Setup],
    parent_token: Callable[[int], dict[str, str]],
    admin_token: AdminToken,
) -> None:
    s = school_setup()
    supplier = _supplier(uow_factory, s.school_id)
    meals = _served(client, clock, s, days=3)
    parent = parent_token(s.parent_id)
    for event_id, stars in zip(meals, (5, 4, 2), strict=True):
        r = client.post(
            f"/api/parent/v1/meals/{event_id}/rating",
            json={"stars": stars, "text": " tasty "},
            headers=parent,
        )
        assert r.status_code == 201, r.text
    r = client.post(f"/api/parent/v1/meals/{meals[0]}/rating", json={"stars": 1}, headers=parent)
    assert (r.status_code, r.json()["reason"]) == (409, "ALREADY_RATED")
    r = client.post(f"/api/parent/v1/meals/{meals[0]}/rating", json={"stars": 6}, headers=parent)
    assert (r.status_code, r.json()["reason"]) == (400, "BAD_STARS")
    school = client.get(f"/api/admin/v1/ratings/schools/{s.school_id}", headers=s.admin).json()
    assert (school["count"], school["average"], school["distribution"]["2"]) == (3, 3.67, 1)
    _, sup_admin = admin_token(Role.SUPPLIER, (s.school_id,))
    by_supplier = client.get(f"/api/admin/v1/ratings/suppliers/{supplier}", headers=sup_admin).json()
    assert (by_supplier["count"], by_supplier["average"]) == (3, 3.67)
    _, blind = admin_token(Role.SUPPLIER, ())
    assert client.get(f"/api/admin/v1/ratings/suppliers/{supplier}", headers=blind).json()["count"] == 0


def test_only_the_childs_parent_may_rate(
    client: TestClient,
    clock: FixedClock,
    school_setup: Callable[..., Setup],
    make_parent: Callable[..., int],
    parent_token: Callable[[int], dict[str, str]],
) -> None:
    s = school_setup()
    [meal] = _served(client, clock, s)
    stranger = parent_token(make_parent())
    r = client.post(f"/api/parent/v1/meals/{meal}/rating", json={"stars": 5}, headers=stranger)
    assert r.status_code == 404
    assert (
        client.post(f"/api/parent/v1/meals/{meal}/rating", json={"stars": 5}, headers=s.admin).status_code
        == 403
    )
    r = client.post(
        "/api/parent/v1/meals/nothex/rating", json={"stars": 5}, headers=parent_token(s.parent_id)
    )
    assert r.status_code == 404


def test_complaint_goes_to_the_district_admin(
    client: TestClient,
    clock: FixedClock,
    school_setup: Callable[..., Setup],
    parent_token: Callable[[int], dict[str, str]],
    admin_token: AdminToken,
) -> None:
    s = school_setup(district="Bostandyk")
    [meal] = _served(client, clock, s)
    parent = parent_token(s.parent_id)
    r = client.post(
        "/api/parent/v1/complaints",
        json={"pupil_id": s.pupil_id, "text": "cold soup", "event_id": meal},
        headers=parent,
    )
    assert r.status_code == 201 and r.json()["district"] == "Bostandyk"
    complaint = r.json()["complaint_id"]
    assert (
        client.post(
            "/api/parent/v1/complaints", json={"pupil_id": s.pupil_id, "text": "  "}, headers=parent
        ).json()["reason"]
        == "EMPTY_COMPLAINT"
    )
    _, other_district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    assert client.get("/api/admin/v1/complaints", headers=other_district).json()["complaints"] == []
    [listed] = client.get("/api/admin/v1/complaints?status=received", headers=s.admin).json()["complaints"]
    assert (listed["complaint_id"], listed["text"], listed["event_id"]) == (complaint, "cold soup", meal)
    r = client.post(
        f"/api/admin/v1/complaints/{complaint}/resolve",
        json={"resolution": "talked to the cook"},
        headers=other_district,
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/admin/v1/complaints/{complaint}/resolve",
        json={"resolution": "talked to the cook"},
        headers=s.admin,
    )
    assert r.json()["status"] == "answered"
    r = client.post(
        f"/api/admin/v1/complaints/{complaint}/resolve", json={"resolution": "again"}, headers=s.admin
    )
    assert (r.status_code, r.json()["reason"]) == (409, "ALREADY_RESOLVED")
    assert client.get("/api/admin/v1/complaints?status=received", headers=s.admin).json()["complaints"] == []


@pytest.mark.parametrize(("pairs", "avg"), [([], None), ([(5, 1)], 5.0), ([(1, 2), (4, 1)], 2.0)])
def test_summarise(pairs: list[tuple[int, int]], avg: float | None) -> None:
    s = summarise(pairs)
    assert s.average == avg and s.count == sum(n for _, n in pairs) and set(s.distribution) == {1, 2, 3, 4, 5}


def test_history_shows_rating_and_delivery(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    school_setup: Callable[..., Setup],
    parent_token: Callable[[int], dict[str, str]],
) -> None:
    s = school_setup()
    first, second = _served(client, clock, s, days=2)
    client.post(f"/api/parent/v1/meals/{first}/rating", json={"stars": 4}, headers=parent_token(s.parent_id))

    def history() -> list[dict[str, Any]]:
        r = client.get(f"/api/parent/v1/vouchers/{s.voucher_id}/meals", headers=parent_token(s.parent_id))
        return list(r.json())

    assert [h["notified_at"] for h in history()] == [None, None]  # queued, not yet in the parent's list
    with uow_factory() as uow:
        assert collect(uow.session, clock.now()) == 2  # the worker's pass
        uow.commit()
    meals = history()
    assert [h["event_id"] for h in meals] == [second, first]  # newest first
    assert (meals[1]["rating"], meals[0]["rating"]) == (4, None)
    assert {h["notified_at"] for h in meals} == {clock.now().isoformat()}
