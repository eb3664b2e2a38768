"""Admin password login (argon2), parent one-time code by SMS, roles and scope."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.adapters.egov import EgovReason
from backend.auth import Principal, Role, ensure_school, require_admin, require_parent
from backend.auth.services import create_admin
from backend.clock import FixedClock
from backend.context import AppContext
from backend.errors import DomainError
from backend.roster.tables import Parent
from backend.unit_of_work import UnitOfWork


def _probe(app: FastAPI) -> None:
    """Routes used only here, to exercise the dependencies."""

    @app.get("/probe/head/{school_id}")
    def head_only(school_id: int, p: Principal = Depends(require_admin(Role.SCHOOL_HEAD))) -> dict[str, int]:  # noqa: B008
        ensure_school(p, school_id)
        return {"id": p.id}

    @app.get("/probe/parent")
    def parent_only(p: Principal = Depends(require_parent)) -> dict[str, list[int]]:  # noqa: B008
        return {"pupils": sorted(p.pupil_ids)}


def test_admin_login_with_password(client: TestClient, uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        create_admin(uow.session, login="head1", password="s3cret-pass", role=Role.SCHOOL_HEAD)
        uow.commit()
    r = client.post("/api/auth/v1/admin/login", json={"login": "head1", "password": "wrong"})
    assert r.status_code == 401 and r.json()["reason"] == "BAD_CREDENTIALS"
    r = client.post("/api/auth/v1/admin/login", json={"login": "nobody", "password": "s3cret-pass"})
    assert r.status_code == 401 and r.json()["reason"] == "BAD_CREDENTIALS"
    r = client.post("/api/auth/v1/admin/login", json={"login": "head1", "password": "s3cret-pass"})
    assert r.status_code == 200 and len(r.json()["token"]) > 30


def test_roles_and_school_scope(
    app: FastAPI,
    client: TestClient,
    make_school: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    _probe(app)
    mine, other = make_school(), make_school()
    _, head = admin_token(Role.SCHOOL_HEAD, (mine,))
    _, pedagogue = admin_token(Role.SOCIAL_PEDAGOGUE, (mine,))
    assert client.get(f"/probe/head/{mine}").status_code == 401
    assert client.get(f"/probe/head/{mine}", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(f"/probe/head/{mine}", headers=pedagogue).json()["reason"] == "FORBIDDEN"
    assert client.get(f"/probe/head/{mine}", headers=head).status_code == 200
    r = client.get(f"/probe/head/{other}", headers=head)
    assert r.status_code == 404 and r.json()["reason"] == "NOT_FOUND"
    assert client.get("/probe/parent", headers=head).status_code == 403


def test_district_admin_sees_every_school_of_the_district(
    app: FastAPI,
    client: TestClient,
    make_school: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    _probe(app)
    a, b, elsewhere = make_school("Almaly"), make_school("Almaly"), make_school("Bostandyk")
    _, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")

    @app.get("/probe/district")
    def scope(p: Principal = Depends(require_admin(Role.DISTRICT_ADMIN))) -> list[int]:  # noqa: B008
        return sorted(p.school_ids)

    got = client.get("/probe/district", headers=district).json()
    assert a in got and b in got and elsewhere not in got


def test_parent_otp_login(
    app: FastAPI,
    client: TestClient,
    clock: FixedClock,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    sent_sms: Callable[[], list[tuple[str, str, str]]],
    delivered_sms: Callable[[], list[tuple[str, str]]],
) -> None:
    _probe(app)
    pupil = make_pupil(make_school())
    parent = make_parent(phone="+77011112233")
    link(pupil, parent)
    assert client.post("/api/auth/v1/parent/otp", json={"phone": "8 701 111 22 33"}).status_code == 202
    assert (
        client.post("/api/auth/v1/parent/otp", json={"phone": "+77019999999"}).status_code == 202
    )  # unknown
    assert client.post("/api/auth/v1/parent/otp", json={"phone": "12"}).json()["reason"] == "INVALID_REQUEST"
    # a number outside Kazakhstan does not match the description's phone pattern
    assert client.post("/api/auth/v1/parent/otp", json={"phone": "+1 555 123 4567"}).json()["reason"] == (
        "INVALID_REQUEST"
    )
    msgs = [m for m in sent_sms() if m[1] == "otp"]
    assert [m[0] for m in msgs] == ["+77011112233"]  # nothing went to the unknown number
    assert not re.search(r"\d{6}", msgs[0][2])  # the outbox keeps the code masked
    assert [m[0] for m in delivered_sms()] == ["+77011112233"]
    match = re.search(r"(\d{6})", delivered_sms()[0][1])
    assert match is not None
    code = match.group(1)
    wrong = "000000" if code != "000000" else "111111"
    r = client.post("/api/auth/v1/parent/login", json={"phone": "+77011112233", "code": wrong})
    assert r.status_code == 401 and r.json()["reason"] == "OTP_INVALID"
    r = client.post("/api/auth/v1/parent/login", json={"phone": "+77011112233", "code": code})
    assert r.status_code == 200
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/probe/parent", headers=headers).json() == {"pupils": [pupil]}
    assert client.post("/api/auth/v1/logout", headers=headers).status_code == 204
    assert client.get("/probe/parent", headers=headers).status_code == 401
    # single use
    r = client.post("/api/auth/v1/parent/login", json={"phone": "+77011112233", "code": code})
    assert r.status_code == 401


def test_otp_expires(
    client: TestClient,
    clock: FixedClock,
    make_parent: Callable[..., int],
    delivered_sms: Callable[[], list[tuple[str, str]]],
) -> None:
    make_parent(phone="+77015550000")
    client.post("/api/auth/v1/parent/otp", json={"phone": "+77015550000"})
    match = re.search(r"(\d{6})", delivered_sms()[-1][1])
    assert match is not None
    clock.advance(timedelta(minutes=6))
    r = client.post("/api/auth/v1/parent/login", json={"phone": "+77015550000", "code": match.group(1)})
    assert r.status_code == 401


class _FakeEgov:
    """Stands in for eGov's identity provider: `signed:<iin>` verifies, anything else is refused."""

    def verify(self, assertion: str) -> str:
        if not assertion.startswith("signed:"):
            raise DomainError(EgovReason.EGOV_REJECTED, "assertion did not verify")
        return assertion.removeprefix("signed:")


def test_parent_egov_sign_in_sits_behind_an_interface(
    client: TestClient,
    ctx: AppContext,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
) -> None:
    parent = make_parent()
    with ctx.session_factory() as s:
        iin = s.scalars(select(Parent.iin).where(Parent.id == parent)).one()
    link(make_pupil(make_school()), parent)
    url = "/api/auth/v1/parent/egov"
    r = client.post(url, json={"assertion": f"signed:{iin}"})
    assert (r.status_code, r.json()["reason"]) == (503, "EGOV_UNAVAILABLE")  # no adapter configured
    ctx.egov = _FakeEgov()
    r = client.post(url, json={"assertion": f"signed:{iin}"})
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/parent/v1/vouchers", headers=headers).status_code == 200
    r = client.post(url, json={"assertion": "forged"})
    assert (r.status_code, r.json()["reason"]) == (401, "EGOV_REJECTED")
    r = client.post(url, json={"assertion": "signed:000000000000"})
    assert (r.status_code, r.json()["reason"]) == (403, "NOT_A_PARENT")
