"""A pupil moves to another school mid-year: one voucher follows them, by date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import FixedClock
from backend.context import AppContext
from backend.fleet.allowlist import bundle_content
from backend.ingest.model import VoucherFacts
from backend.keys import KeyStore
from backend.unit_of_work import UnitOfWork
from shared_crypto import TrustStore, VerificationError, verify_qr_text
from tests.backend.operations.conftest import LUNCH, Device, Setup


def _voucher_ids(ctx: AppContext, school_id: int) -> list[int]:
    with UnitOfWork(ctx.session_factory) as uow:
        return [e.voucher_id for e in bundle_content(uow.session, school_id, ctx.clock.now()).entries]


def test_the_voucher_follows_the_pupil_from_the_move_date(
    ctx: AppContext,
    client: TestClient,
    clock: FixedClock,
    setup: Setup,
    make_school: Callable[..., int],
    with_lunch_slot: Callable[[int], None],
    enrol_device: Callable[..., Device],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
    parent_token: Callable[[int], dict[str, str]],
    flags: Callable[[bytes], tuple[str, list[str]]],
) -> None:
    a = setup.school_id
    b = make_school()
    with_lunch_slot(b)
    at_b = enrol_device(b)
    clock.set(LUNCH - timedelta(hours=2))
    parent = parent_token(setup.parent_id)
    before = client.post(f"/api/parent/v1/vouchers/{setup.voucher_id}/qr", headers=parent).json()
    _, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")

    r = client.post(
        f"/api/admin/v1/pupils/{setup.pupil_id}/transfer",
        json={"to_school_id": b, "effective_on": f"{LUNCH.date() + timedelta(days=1)}"},
        headers=district,
    )
    assert (r.status_code, r.json()["reason"]) == (400, "MOVE_IN_FUTURE")
    r = client.post(
        f"/api/admin/v1/pupils/{setup.pupil_id}/transfer",
        json={"to_school_id": b, "effective_on": f"{LUNCH.date()}"},
        headers=district,
    )
    assert r.json() == {"pupil_id": setup.pupil_id, "school_id": b, "vouchers_moved": 1}
    r = client.post(
        f"/api/admin/v1/pupils/{setup.pupil_id}/transfer",
        json={"to_school_id": b, "effective_on": f"{LUNCH.date()}"},
        headers=district,
    )
    assert (r.status_code, r.json()["reason"]) == (409, "SAME_SCHOOL")

    # the new school's allowlist carries the voucher, the old one's drops it
    assert _voucher_ids(ctx, a) == []
    assert _voucher_ids(ctx, b) == [setup.voucher_id]
    # the parent's next QR names the new school; a terminal at the old one refuses it as WRONG_SCHOOL
    after = client.post(f"/api/parent/v1/vouchers/{setup.voucher_id}/qr", headers=parent).json()
    assert after["serial"] > before["serial"]
    keys: KeyStore = ctx.keys
    lookup = TrustStore(keys.trusted_keys())
    now = int(clock.now().timestamp())
    assert verify_qr_text(after["qr"], lookup, now=now, leeway=60, school_id=b).school_id == b
    with pytest.raises(VerificationError) as e:
        verify_qr_text(after["qr"], lookup, now=now, leeway=60, school_id=a)
    assert e.value.reason == "WRONG_SCHOOL"

    # from the move date a meal at the old school is held out of billing (the scenario bills the split)
    clock.set(LUNCH + timedelta(minutes=5))
    at_old = setup.device.event(setup.voucher_id, LUNCH)
    assert setup.device.upload(client, setup.device.batch([at_old])).json()["flagged"] == 1
    assert flags(at_old.event_id) == ("flagged", ["WRONG_SCHOOL"])
    clock.set(LUNCH + timedelta(days=1, minutes=5))
    at_new = at_b.event(setup.voucher_id, LUNCH + timedelta(days=1))
    assert at_b.upload(client, at_b.batch([at_new])).json() == {"accepted": 1, "duplicates": 0, "flagged": 0}


def test_school_on_a_date_follows_the_moves() -> None:
    facts = VoucherFacts(
        1, 3, 7, 1, "active", date(2027, 5, 31), moves=((date(2026, 11, 15), 1, 2), (date(2027, 2, 1), 2, 3))
    )
    assert [facts.school_on(d) for d in (date(2026, 9, 1), date(2026, 11, 15), date(2027, 3, 1))] == [1, 2, 3]
