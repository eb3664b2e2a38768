"""The pupil's pass: shared by a one-time link, installed once, a week of tokens in one request, signed
through the vouchers' own issue path (the same checks and serials as the API's QR), revoked."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.clock import KZ_TZ
from backend.roster.tables import Parent
from backend.vouchers.services import children_of
from shared_crypto import TrustStore
from shared_crypto.errors import VerificationError
from shared_crypto.voucher_token import check_standing, verify_qr_text

from .conftest import BEKOVA, Web, csrf_of

SLOT_MINUTES = (90, 90)  # the demo school's breakfast 08:30–10:00 and lunch 12:30–14:00


def _voucher(web: Web, phone: str) -> tuple[int, int]:
    from backend.auth.services import parent_principal

    with web.ctx.session_factory() as session:
        parent_id = session.scalar(select(Parent.id).where(Parent.phone == phone))
        assert parent_id is not None
        (child,) = children_of(session, parent_principal(session, parent_id))
        assert child.voucher_id is not None
        return child.pupil_id, child.voucher_id


def _installed(web: Web) -> tuple[TestClient, TestClient, int, str]:
    """Bekova activates her child's voucher and shares a pass, which a second client installs."""
    parent = web.client("en")
    web.sign_in(parent, BEKOVA)
    pupil_id, voucher_id = _voucher(web, BEKOVA)
    page = parent.get(f"/child/{pupil_id}")
    assert (
        parent.post(f"/vouchers/{voucher_id}/activate", data={"csrf": csrf_of(page.text)}).status_code == 303
    )
    page = parent.get(f"/vouchers/{voucher_id}/passes")
    shared = parent.post(f"/vouchers/{voucher_id}/passes", data={"csrf": csrf_of(page.text)})
    found = re.search(r'id="pass-link" href="[^"]*(/pass/i/[^"]+)"', shared.text)
    assert shared.status_code == 200 and found, shared.text[:500]
    link = found.group(1)
    phone = web.client("en")
    ask = phone.get(link)
    assert ask.status_code == 200
    done = phone.post(link, data={"csrf": csrf_of(ask.text)})
    assert done.status_code == 303 and "sm_device" in done.cookies
    return parent, phone, voucher_id, link


def test_a_week_of_tokens_in_one_request_through_the_voucher_issue_path(web: Web) -> None:
    parent, phone, voucher_id, _link = _installed(web)
    data = phone.get("/pass/data.json")
    assert data.status_code == 200 and data.headers["cache-control"] == "no-store"
    assert data.headers["content-encoding"] == "gzip"  # a week of tokens, compressed for 3G
    body = data.json()
    window = web.settings.web.pass_window_seconds
    days = web.settings.web.pass_school_days
    # today's breakfast from 08:40 (its first two windows are over), then whole slots for the other days
    now = int(web.clock.now().timestamp())
    full = sum(m * 60 // window for m in SLOT_MINUTES)
    assert len(body["tokens"]) == full * days - (now - _at(web, "08:30")) // window
    assert body["server_time"] == now and body["display"] and body["window_seconds"] == window

    store = TrustStore(web.ctx.keys.trusted_keys())
    serials = set()
    for t in body["tokens"]:
        tok = verify_qr_text(t["qr"], store, now=max(now, t["nbf"]), leeway=0)
        assert (tok.voucher_id, tok.nbf, tok.exp) == (voucher_id, t["nbf"], t["exp"])
        assert tok.exp - tok.nbf == window
        serials.add(tok.serial)
    assert serials == {body["serial"]}
    # the current window's token is good now and not a window later
    current = next(t for t in body["tokens"] if t["nbf"] <= now < t["exp"])
    verify_qr_text(current["qr"], store, now=now, leeway=0)

    # the API's QR draws its serial from the same counter: the next one after the pass's
    bearer = {"Authorization": f"Bearer {parent.cookies['sm_session']}"}
    qr = parent.post(f"/api/parent/v1/vouchers/{voucher_id}/qr", headers=bearer).json()
    assert qr["serial"] == body["serial"] + 1
    # a refresh keeps the pass's serial while it stands
    assert phone.get("/pass/data.json").json()["serial"] == body["serial"]


def test_a_calendar_change_reaches_the_next_refresh(web: Web) -> None:
    """The server keeps each school's calendar between refreshes; a change to it (here the slots, which
    raises the school's change counter) is in the very next one."""
    from backend.calendar.model import SlotTime
    from backend.calendar.services import set_slots
    from backend.unit_of_work import UnitOfWork
    from backend.vouchers.tables import Voucher

    _parent, phone, voucher_id, _link = _installed(web)
    window = web.settings.web.pass_window_seconds
    days = web.settings.web.pass_school_days
    late = (int(web.clock.now().timestamp()) - _at(web, "08:30")) // window
    before = phone.get("/pass/data.json").json()
    assert len(before["tokens"]) == sum(m * 60 // window for m in SLOT_MINUTES) * days - late
    with web.ctx.session_factory() as session:
        school_id = session.scalar(select(Voucher.school_id).where(Voucher.id == voucher_id))
    assert school_id is not None
    with UnitOfWork(web.ctx.session_factory) as uow:  # breakfast only, 08:30–09:00
        set_slots(uow, school_id, [SlotTime(1, time(8, 30), time(9, 0))])
    after = phone.get("/pass/data.json").json()
    assert len(after["tokens"]) == 30 * 60 // window * days - late
    assert [s["slot"] for s in after["slots"]] == [1] * days


def _at(web: Web, hm: str) -> int:
    day = web.clock.now().astimezone(KZ_TZ).date()
    return int(datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=KZ_TZ).timestamp())


def test_the_link_installs_once_and_revoking_supersedes_the_tokens(web: Web) -> None:
    parent, phone, voucher_id, link = _installed(web)
    first = phone.get("/pass/data.json").json()
    # the one-time link is spent: a second phone gets 410
    other = web.client("en")
    assert other.get(link).status_code == 410
    # the parent revokes it from the list of passes
    page = parent.get(f"/vouchers/{voucher_id}/passes")
    assert "Installed" in page.text and "Last refreshed" in page.text
    revoke = re.search(r'action="(/passes/\d+/revoke)"', page.text)
    assert revoke
    assert parent.post(revoke.group(1), data={"csrf": csrf_of(page.text)}).status_code == 303
    refused = phone.get("/pass/data.json")
    assert refused.status_code == 410 and refused.json() == {"reason": "PASS_REVOKED"}
    # the voucher's minimum serial moved past the pass's: terminals refuse its tokens as SUPERSEDED
    from backend.vouchers.tables import Voucher

    with web.ctx.session_factory() as session:
        v = session.get(Voucher, voucher_id)
        assert v is not None and v.min_serial > first["serial"]
    store = TrustStore(web.ctx.keys.trusted_keys())
    tok = verify_qr_text(first["tokens"][-1]["qr"], store, now=first["tokens"][-1]["nbf"], leeway=0)
    with pytest.raises(VerificationError, match="SUPERSEDED"):
        check_standing(tok, v.min_serial, set())


def test_after_the_school_year_both_paths_refuse_alike(web: Web) -> None:
    parent, phone, voucher_id, _link = _installed(web)
    from backend.vouchers.tables import Voucher

    with web.ctx.session_factory() as session:
        v = session.get(Voucher, voucher_id)
        assert v is not None
        v.valid_until = web.clock.now().astimezone(KZ_TZ).date() - timedelta(days=1)  # yesterday was its last
        session.commit()
    bearer = {"Authorization": f"Bearer {parent.cookies['sm_session']}"}
    api = parent.post(f"/api/parent/v1/vouchers/{voucher_id}/qr", headers=bearer)
    pass_ = phone.get("/pass/data.json")
    assert api.status_code == pass_.status_code == 409
    assert api.json()["reason"] == pass_.json()["reason"] == "VOUCHER_NOT_ACTIVE"
