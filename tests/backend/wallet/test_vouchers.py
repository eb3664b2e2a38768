"""Vouchers: states and audit, parent API (list, activate, refuse, QR, re-issue, history), scope, expiry."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import segno  # noqa: F401  (the PNG path must be importable)
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.clock import FixedClock
from backend.context import AppContext
from backend.errors import DomainError
from backend.unit_of_work import UnitOfWork
from backend.vouchers.model import VoucherStatus, check_transition, school_year_of
from backend.vouchers.services import expire_vouchers
from backend.vouchers.tables import VoucherEvent
from shared_crypto import KeyRole, TrustStore, VerificationError, check_standing, verify_qr_text

from .conftest import CAT

S = VoucherStatus


def test_transitions() -> None:
    check_transition(S.AWAITING_ACTIVATION, S.ACTIVE)
    check_transition(S.AWAITING_ACTIVATION, S.REFUSED)
    check_transition(S.ACTIVE, S.SUSPENDED)
    check_transition(S.SUSPENDED, S.ACTIVE)
    check_transition(S.REFUSED, S.ACTIVE)
    for old, new in [
        (S.REVOKED, S.ACTIVE),
        (S.EXPIRED, S.ACTIVE),
        (S.ACTIVE, S.AWAITING_ACTIVATION),
        (S.REFUSED, S.SUSPENDED),
    ]:
        with pytest.raises(DomainError) as e:
            check_transition(old, new)
        assert e.value.reason == "TRANSITION_NOT_ALLOWED"


def test_school_year() -> None:
    assert school_year_of(date(2026, 9, 1)) == 2026
    assert school_year_of(date(2027, 5, 31)) == 2026
    assert school_year_of(date(2027, 6, 1)) == 2027


@pytest.fixture
def family(
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    registered: Callable[..., None],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    parent_token: Callable[[int], dict[str, str]],
) -> dict[str, Any]:
    """A parent with a grade-2 child (voucher formed directly) and a grade-7 child waiting for consent."""
    school = make_school()
    parent = make_parent(phone="+77031112233")
    small, big = make_pupil(school, grade=2), make_pupil(school, grade=7)
    link(small, parent)
    link(big, parent)
    registered(big)
    checked_list(school, [(small, None), (big, CAT)])
    return {"school": school, "parent": parent, "small": small, "big": big, "headers": parent_token(parent)}


def _vouchers(client: TestClient, headers: dict[str, str]) -> dict[int, dict[str, Any]]:
    r = client.get("/api/parent/v1/vouchers", headers=headers)
    assert r.status_code == 200
    return {v["pupil_id"]: v for v in r.json()}


def test_parent_lists_activates_and_refuses(
    client: TestClient, ctx: AppContext, family: dict[str, Any]
) -> None:
    h = family["headers"]
    got = _vouchers(client, h)
    assert list(got) == [family["small"]]  # the grade-7 child waits for consent
    v = got[family["small"]]
    assert v["status"] == "awaiting_activation" and v["valid_until"] == "2027-05-31"
    assert "iin" not in v and "Pupil" not in v["child"]  # initials and class only
    client.post("/api/sms/v1/inbound", json={"from": "+77031112233", "text": "3#1"})
    got = _vouchers(client, h)
    assert set(got) == {family["small"], family["big"]}
    r = client.post(f"/api/parent/v1/vouchers/{v['id']}/activate", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "active"
    big = got[family["big"]]["id"]
    r = client.post(f"/api/parent/v1/vouchers/{big}/refuse", json={"reason": "   "}, headers=h)
    assert r.status_code == 400 and r.json()["reason"] == "REASON_REQUIRED"
    r = client.post(f"/api/parent/v1/vouchers/{big}/refuse", json={"reason": "eats at home"}, headers=h)
    assert r.json()["status"] == "refused"
    events = client.get(f"/api/parent/v1/vouchers/{big}/events", headers=h).json()
    assert [(e["old_status"], e["new_status"]) for e in events] == [
        (None, "awaiting_activation"),
        ("awaiting_activation", "refused"),
    ]
    assert events[-1]["reason"] == "eats at home" and events[-1]["actor"] == f"parent:{family['parent']}"
    assert events[0]["actor"].startswith("parent-sms:")


def test_foreign_voucher_is_404(
    client: TestClient,
    family: dict[str, Any],
    make_parent: Callable[..., int],
    parent_token: Callable[[int], dict[str, str]],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    from backend.auth.model import Role

    vid = _vouchers(client, family["headers"])[family["small"]]["id"]
    stranger = parent_token(make_parent())
    for method, path in [
        ("post", "activate"),
        ("post", "qr"),
        ("get", "qr.png"),
        ("post", "reissue"),
        ("get", "meals"),
        ("get", "events"),
    ]:
        r = getattr(client, method)(f"/api/parent/v1/vouchers/{vid}/{path}", headers=stranger)
        assert r.status_code == 404 and r.json()["reason"] == "NOT_FOUND", path
    r = client.post(f"/api/parent/v1/vouchers/{vid}/refuse", json={"reason": "x"}, headers=stranger)
    assert r.status_code == 404
    assert client.get("/api/parent/v1/vouchers", headers=stranger).json() == []
    assert (
        client.post("/api/parent/v1/vouchers/999999/activate", headers=family["headers"]).status_code == 404
    )
    _, admin = admin_token(Role.SCHOOL_HEAD, (family["school"],))
    assert client.get("/api/parent/v1/vouchers", headers=admin).status_code == 403
    assert client.get("/api/parent/v1/vouchers").status_code == 401


def test_qr_issue_verifies_and_reissue_supersedes(
    client: TestClient, ctx: AppContext, clock: FixedClock, family: dict[str, Any]
) -> None:
    h = family["headers"]
    vid = _vouchers(client, h)[family["small"]]["id"]
    r = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h)
    assert r.status_code == 409 and r.json()["reason"] == "VOUCHER_NOT_ACTIVE"
    client.post(f"/api/parent/v1/vouchers/{vid}/activate", headers=h)
    first = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h).json()
    second = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h).json()
    assert (first["serial"], second["serial"]) == (1, 2)
    now = int(clock.now().timestamp())
    store = TrustStore(ctx.keys.trusted_keys())
    tok = verify_qr_text(first["qr"], store, now=now, leeway=0, school_id=family["school"])
    assert (tok.voucher_id, tok.serial, tok.plan) == (vid, 1, 1)
    assert tok.exp - tok.nbf == ctx.settings.qr_validity_seconds
    with pytest.raises(VerificationError):
        verify_qr_text(first["qr"], store, now=now + ctx.settings.qr_validity_seconds + 1, leeway=0)
    # re-issue after a leak: the new serial becomes the minimum
    third = client.post(f"/api/parent/v1/vouchers/{vid}/reissue", headers=h).json()
    assert third["serial"] == 3
    with ctx.session_factory() as s:
        from backend.vouchers.tables import Voucher

        v = s.get(Voucher, vid)
        assert v is not None and v.min_serial == 3 and v.next_serial == 4
        reasons = s.scalars(select(VoucherEvent.reason).where(VoucherEvent.voucher_id == vid)).all()
        assert any("superseded" in (r or "") for r in reasons)
    with pytest.raises(VerificationError, match=r"SUPERSEDED|serial"):
        check_standing(verify_qr_text(second["qr"], store, now=now, leeway=0), 3, set())
    check_standing(verify_qr_text(third["qr"], store, now=now, leeway=0), 3, set())
    # PNG of a fresh token
    r = client.get(f"/api/parent/v1/vouchers/{vid}/qr.png", headers=h)
    assert (
        r.status_code == 200
        and r.headers["content-type"] == "image/png"
        and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    )
    assert r.headers["X-QR-Serial"] == "4"
    assert io.BytesIO(r.content).getbuffer().nbytes > 100


def test_qr_signed_with_rotated_key(
    client: TestClient, ctx: AppContext, clock: FixedClock, family: dict[str, Any]
) -> None:
    h = family["headers"]
    vid = _vouchers(client, h)[family["small"]]["id"]
    client.post(f"/api/parent/v1/vouchers/{vid}/activate", headers=h)
    old = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h).json()["qr"]
    ctx.keys.rotate(KeyRole.VOUCHER_ISSUER)
    new = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h).json()["qr"]
    store = TrustStore(ctx.keys.trusted_keys())
    now = int(clock.now().timestamp())
    verify_qr_text(old, store, now=now, leeway=0)  # still trusted during the overlap
    verify_qr_text(new, store, now=now, leeway=0)


def test_qr_never_outlives_the_school_year(
    client: TestClient, ctx: AppContext, clock: FixedClock, family: dict[str, Any]
) -> None:
    h = family["headers"]
    vid = _vouchers(client, h)[family["small"]]["id"]
    client.post(f"/api/parent/v1/vouchers/{vid}/activate", headers=h)
    clock.set(datetime(2027, 5, 31, 18, 30, tzinfo=UTC))  # 23:30 in Almaty on the last day
    q = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h).json()
    assert datetime.fromisoformat(q["expires_at"]) == datetime(2027, 5, 31, 19, 0, tzinfo=UTC)
    clock.advance(timedelta(hours=1))
    assert client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h).status_code == 409
    with ctx.session_factory() as s:
        from backend.vouchers.tables import Voucher

        v = s.get(Voucher, vid)
        assert v is not None and v.next_serial == q["serial"] + 1  # the refused request took no serial


def test_qr_routes_read_the_session_every_time(
    client: TestClient,
    ctx: AppContext,
    family: dict[str, Any],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    """The QR routes look the session and the children up inside their own transaction: a signed-out
    session, an admin's, or a child no longer linked is refused on the very next request."""
    from backend.auth.model import Role
    from backend.roster.tables import Guardianship

    h = family["headers"]
    vid = _vouchers(client, h)[family["small"]]["id"]
    client.post(f"/api/parent/v1/vouchers/{vid}/activate", headers=h)
    assert client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=h).status_code == 200
    _, admin = admin_token(Role.SCHOOL_HEAD, (family["school"],))
    r = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers=admin)
    assert r.status_code == 403 and r.json()["reason"] == "FORBIDDEN"
    r = client.post(f"/api/parent/v1/vouchers/{vid}/qr", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["reason"] == "UNAUTHENTICATED"
    assert client.post(f"/api/parent/v1/vouchers/{vid}/qr").status_code == 401
    with UnitOfWork(ctx.session_factory) as uow:
        link = uow.session.scalars(select(Guardianship).where(Guardianship.pupil_id == family["small"])).one()
        uow.session.delete(link)
        uow.commit()
    for method, path in (("post", "qr"), ("get", "qr.png"), ("post", "reissue")):
        r = getattr(client, method)(f"/api/parent/v1/vouchers/{vid}/{path}", headers=h)
        assert r.status_code == 404, path
    assert client.post("/api/auth/v1/logout", headers=h).status_code == 204
    for method, path in (("post", "qr"), ("get", "qr.png"), ("post", "reissue")):
        r = getattr(client, method)(f"/api/parent/v1/vouchers/{vid}/{path}", headers=h)
        assert r.status_code == 401 and r.json()["reason"] == "UNAUTHENTICATED", path


def test_expiry_and_admin_revoke(
    client: TestClient,
    ctx: AppContext,
    clock: FixedClock,
    family: dict[str, Any],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
    run_timers: Callable[[], dict[str, int]],
) -> None:
    from backend.auth.model import Role

    h = family["headers"]
    client.post("/api/sms/v1/inbound", json={"from": "+77031112233", "text": "3#1"})
    got = _vouchers(client, h)
    small, big = got[family["small"]]["id"], got[family["big"]]["id"]
    _, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    _, head = admin_token(Role.SCHOOL_HEAD, (family["school"],))
    assert (
        client.post(
            f"/api/admin/v1/vouchers/{big}/revoke", json={"reason": "moved"}, headers=head
        ).status_code
        == 403
    )
    r = client.post(f"/api/admin/v1/vouchers/{big}/revoke", json={"reason": "moved abroad"}, headers=district)
    assert r.json() == {"status": "revoked"}
    events = client.get(f"/api/admin/v1/vouchers/{big}/events", headers=head).json()
    assert events[-1]["new_status"] == "revoked" and events[-1]["actor"].startswith("admin:")
    _, foreign = admin_token(Role.DISTRICT_ADMIN, (), "Bostandyk")
    assert client.get(f"/api/admin/v1/vouchers/{big}/events", headers=foreign).status_code == 404
    clock.set(datetime(2027, 6, 1, 0, 30, tzinfo=ctx.clock.now().tzinfo))
    with UnitOfWork(ctx.session_factory) as uow:
        # 00:30 UTC is already June 1 in Almaty
        assert expire_vouchers(uow, now=clock.now()) == 1
    assert _vouchers(client, h)[family["small"]]["status"] == "expired"
    assert _vouchers(client, h)[family["big"]]["status"] == "revoked"
    assert run_timers()["expired"] == 0
    assert small != big


def test_meal_history_reads_meal_events(client: TestClient, ctx: AppContext, family: dict[str, Any]) -> None:
    """Meals come from the ingest side's `meal_events` (contract columns), newest first."""
    from backend.fleet.tables import TerminalRow
    from backend.ingest.tables import MealEventRow

    h = family["headers"]
    vid = _vouchers(client, h)[family["small"]]["id"]
    assert client.get(f"/api/parent/v1/vouchers/{vid}/meals", headers=h).json() == []
    now = ctx.clock.now()
    with ctx.session_factory() as s, s.begin():
        terminal = TerminalRow(
            school_id=family["school"],
            canteen_id=1,
            public_key=b"k" * 32,
            kid=b"i" * 8,
            status="active",
            enrolled_at=now,
        )
        s.add(terminal)
        s.flush()
        for day, status in ((1, "ok"), (2, "flagged")):
            served = now + timedelta(days=day)
            s.add(
                MealEventRow(
                    id=bytes([day]) * 16,
                    terminal_id=terminal.id,
                    school_id=family["school"],
                    voucher_id=vid,
                    pupil_id=family["small"],
                    plan=1,
                    slot=1,
                    served_at=served,
                    local_date=served.date(),
                    method=0,
                    token_serial=1,
                    wall_trusted=True,
                    boot_id=b"b" * 16,
                    seq=day,
                    received_at=served,
                    status=status,
                    flags=[],
                )
            )
    meals = client.get(f"/api/parent/v1/vouchers/{vid}/meals", headers=h).json()
    assert [(m["status"], m["slot"], m["school_id"]) for m in meals] == [
        ("flagged", 1, family["school"]),
        ("ok", 1, family["school"]),
    ]
    assert datetime.fromisoformat(meals[0]["served_at"]) == now + timedelta(days=2)
    # The parent rates a meal by its event id; a flagged meal does not count until an admin accepts it.
    assert [(m["event_id"], m["billable"], m["rating"]) for m in meals] == [
        ((bytes([2]) * 16).hex(), False, None),
        ((bytes([1]) * 16).hex(), True, None),
    ]


def test_district_admin_sets_the_plan_with_an_audit_line(
    client: TestClient,
    family: dict[str, Any],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    from backend.auth.model import Role

    h = family["headers"]
    client.post("/api/sms/v1/inbound", json={"from": "+77031112233", "text": "3#1"})
    vid = _vouchers(client, h)[family["big"]]["id"]
    _, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    _, head = admin_token(Role.SCHOOL_HEAD, (family["school"],))
    _, foreign = admin_token(Role.DISTRICT_ADMIN, (), "Bostandyk")
    url = f"/api/admin/v1/vouchers/{vid}/plan"
    body = {"plan": 2, "reason": "income above the line: discounted"}
    assert client.post(url, json=body, headers=head).status_code == 403  # the district decides
    assert client.post(url, json=body, headers=foreign).status_code == 404
    assert client.post(url, json={"plan": 3, "reason": "x"}, headers=district).status_code == 422
    r = client.post(url, json=body, headers=district)
    assert r.status_code == 200 and r.json()["plan"] == 2
    again = client.post(url, json=body, headers=district)
    assert again.status_code == 409 and again.json()["reason"] == "PLAN_UNCHANGED"
    last = client.get(f"/api/admin/v1/vouchers/{vid}/events", headers=head).json()[-1]
    assert last["old_status"] == last["new_status"] and "FREE -> DISCOUNTED" in last["reason"]
