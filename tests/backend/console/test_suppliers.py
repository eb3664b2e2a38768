"""Suppliers with BIN and bank details, linked to schools for periods: the act follows the link (a
school without one has no act), periods never overlap, and a supplier's account sees its schools."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from backend.auth.model import Role

A = "/api/admin/v1"
GOOD = {
    "bin": "123456789012",
    "name": "Dastarkhan LLP",
    "iban": "KZ86125KZT5004100100",
    "bank_bik": "KCJBKZKX",
}


def test_bad_details_are_refused_with_their_reason(
    client: TestClient, admin_token: Callable[..., tuple[int, dict[str, str]]]
) -> None:
    district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")[1]
    for field, value, reason in [
        ("bin", "12345", "BAD_BIN"),
        ("iban", "DE89370400440532013000", "BAD_IBAN"),
        ("bank_bik", "K!", "BAD_BIK"),
        ("name", "  ", "NAME_REQUIRED"),
    ]:
        r = client.post(f"{A}/suppliers", json={**GOOD, field: value}, headers=district)
        assert (r.status_code, r.json()["reason"]) == (400, reason)
    assert client.post(f"{A}/suppliers", json=GOOD, headers=district).status_code == 201
    r = client.post(f"{A}/suppliers", json=GOOD, headers=district)
    assert (r.status_code, r.json()["reason"]) == (409, "BIN_TAKEN")


def test_the_act_follows_the_link_and_links_do_not_overlap(
    client: TestClient,
    make_school: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    school = make_school(district="Almaly")
    district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")[1]
    r = client.get(f"{A}/billing/acts/{school}", params={"month": "2026-08"}, headers=district)
    assert (r.status_code, r.json()["reason"]) == (409, "NO_SUPPLIER")
    supplier = client.post(f"{A}/suppliers", json=GOOD, headers=district).json()
    link = {"school_id": school, "valid_from": "2026-08-01", "valid_to": "2026-12-31"}
    r = client.post(f"{A}/suppliers/{supplier['id']}/links", json=link, headers=district)
    assert r.status_code == 201, r.text
    r = client.get(f"{A}/billing/acts/{school}", params={"month": "2026-08"}, headers=district)
    assert r.status_code == 200 and r.json()["supplier_bin"] == GOOD["bin"], r.text
    second = client.post(f"{A}/suppliers", json={**GOOD, "bin": "123456789013"}, headers=district).json()
    clash = {"school_id": school, "valid_from": "2026-12-01"}
    r = client.post(f"{A}/suppliers/{second['id']}/links", json=clash, headers=district)
    assert (r.status_code, r.json()["reason"]) == (409, "LINK_OVERLAPS")
    r = client.post(
        f"{A}/suppliers/{second['id']}/links", json={**clash, "valid_from": "2027-01-01"}, headers=district
    )
    assert r.status_code == 201
    backwards = {"school_id": school, "valid_from": "2028-02-01", "valid_to": "2028-01-01"}
    r = client.post(f"{A}/suppliers/{second['id']}/links", json=backwards, headers=district)
    assert (r.status_code, r.json()["reason"]) == (400, "BAD_PERIOD")
    # the school's supplier in a month after the first period: the second one
    r = client.get(f"{A}/billing/acts/{school}", params={"month": "2027-01"}, headers=district)
    assert r.status_code == 200 and r.json()["supplier_bin"] == "123456789013", r.text
    serving = {s["bin"]: s["serving_today"] for s in client.get(f"{A}/suppliers", headers=district).json()}
    assert serving["123456789012"] == [{"school_id": school, "name": serving["123456789012"][0]["name"]}]
    assert serving["123456789013"] == []


def test_a_suppliers_account_sees_the_schools_linked_to_its_supplier(
    client: TestClient,
    make_school: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    linked, other = make_school(district="Almaly"), make_school(district="Almaly")
    district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")[1]
    supplier = client.post(f"{A}/suppliers", json=GOOD, headers=district).json()
    link = {"school_id": linked, "valid_from": "2026-09-01"}
    assert (
        client.post(f"{A}/suppliers/{supplier['id']}/links", json=link, headers=district).status_code == 201
    )
    account = {"login": "dastarkhan", "role": "supplier", "supplier_id": supplier["id"]}
    new = client.post(f"{A}/accounts", json=account, headers=district).json()
    token = client.post(
        "/api/auth/v1/admin/login", json={"login": "dastarkhan", "password": new["temporary_password"]}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.get(
            f"{A}/billing/timesheets/{linked}", params={"month": "2026-09"}, headers=headers
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"{A}/billing/timesheets/{other}", params={"month": "2026-09"}, headers=headers
        ).status_code
        == 404
    )
