"""Staff accounts kept by the district admin: created in the district's scope with a temporary password
that signs in, deactivated (sessions end, sign-in refused), reset, and the optional TOTP factor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import FixedClock
from backend.unit_of_work import UnitOfWork

A = "/api/admin/v1"
LOGIN = "/api/auth/v1/admin/login"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_accounts_are_created_scoped_deactivated_and_reset(
    client: TestClient,
    make_school: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    school, foreign = make_school(district="Almaly"), make_school(district="Medeu")
    _me, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    body = {"login": "Head.One", "role": "school_head", "school_ids": [school]}
    r = client.post(f"{A}/accounts", json=body, headers=district)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["login"] == "head.one" and len(new["temporary_password"]) >= 16
    # another district's school, a taken login, a school role without a school
    refused = [
        ({"login": "head.two", "role": "school_head", "school_ids": [foreign]}, 404, "NOT_FOUND"),
        (body, 409, "LOGIN_TAKEN"),
        ({"login": "ped.one", "role": "social_pedagogue"}, 400, "SCHOOL_REQUIRED"),
        ({"login": "x", "role": "technician", "school_ids": [school]}, 400, "BAD_LOGIN"),
        ({"login": "sup.one", "role": "supplier"}, 400, "SUPPLIER_REQUIRED"),
    ]
    for payload, status, reason in refused:
        r = client.post(f"{A}/accounts", json=payload, headers=district)
        assert (r.status_code, r.json()["reason"]) == (status, reason), payload
    r = client.post(LOGIN, json={"login": "head.one", "password": new["temporary_password"]})
    assert r.status_code == 200, r.text
    head = _bearer(r.json()["token"])
    assert client.get(f"{A}/schools/{school}/eligibility-lists", headers=head).status_code == 200
    # only a district admin keeps accounts
    assert client.post(f"{A}/accounts", json=body, headers=head).status_code == 403
    listed = client.get(f"{A}/accounts", params={"q": "head."}, headers=district).json()
    assert [a["login"] for a in listed["accounts"]] == ["head.one"]
    other = admin_token(Role.DISTRICT_ADMIN, (), "Medeu")[1]
    assert client.get(f"{A}/accounts", params={"q": "head."}, headers=other).json()["total"] == 0
    assert client.post(f"{A}/accounts/{new['id']}/deactivate", headers=other).status_code == 404

    assert client.post(f"{A}/accounts/{new['id']}/deactivate", headers=district).json()["active"] is False
    assert client.get(f"{A}/schools/{school}/eligibility-lists", headers=head).status_code == 401
    r = client.post(LOGIN, json={"login": "head.one", "password": new["temporary_password"]})
    assert r.status_code == 401
    client.post(f"{A}/accounts/{new['id']}/activate", headers=district)
    reset = client.post(f"{A}/accounts/{new['id']}/reset", headers=district).json()
    assert reset["temporary_password"] != new["temporary_password"]
    assert (
        client.post(LOGIN, json={"login": "head.one", "password": new["temporary_password"]}).status_code
        == 401
    )
    assert (
        client.post(LOGIN, json={"login": "head.one", "password": reset["temporary_password"]}).status_code
        == 200
    )


def test_a_district_admin_cannot_deactivate_itself(
    client: TestClient, admin_token: Callable[..., tuple[int, dict[str, str]]]
) -> None:
    me, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    r = client.post(f"{A}/accounts/{me}/deactivate", headers=district)
    assert (r.status_code, r.json()["reason"]) == (409, "SELF_DEACTIVATION")


def test_totp_second_factor_is_asked_once_confirmed(
    client: TestClient, uow_factory: Callable[[], UnitOfWork], clock: FixedClock
) -> None:
    from backend.auth import accounts
    from backend.auth.services import admin_principal

    with uow_factory() as uow:
        admin = accounts.first_admin(uow, login="root", password="a-long-password-1", district="Almaly")
        principal = admin_principal(uow.session, admin)
    secret = accounts.start_totp()
    now = clock.now()
    with uow_factory() as uow:
        try:
            accounts.confirm_totp(uow, principal, secret, "000000", now)
            raise AssertionError("a wrong code was accepted")
        except Exception as exc:  # the domain error, not a silent accept
            assert getattr(exc, "reason", None) == "TOTP_INVALID"
    with uow_factory() as uow:
        accounts.confirm_totp(uow, principal, secret, pyotp.TOTP(secret).at(now), now)
    password = {"login": "root", "password": "a-long-password-1"}
    r = client.post(LOGIN, json=password)
    assert (r.status_code, r.json()["reason"]) == (401, "TOTP_REQUIRED")
    stale = pyotp.TOTP(secret).at(now - timedelta(minutes=5))
    assert client.post(LOGIN, json={**password, "totp": stale}).status_code == 401
    assert client.post(LOGIN, json={**password, "totp": pyotp.TOTP(secret).at(now)}).status_code == 200
