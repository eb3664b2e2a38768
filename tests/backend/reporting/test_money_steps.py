"""The 2026 order's money steps over HTTP (pedagogue submits, head signs, supplier signs, district
accepts, a late batch makes a version to sign again) and the payment register in CSV and JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime

import httpx
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import KZ_TZ, FixedClock
from backend.context import AppContext
from backend.roster.tables import School, Supplier
from backend.unit_of_work import UnitOfWork
from backend.worker import tick

from .conftest import SEPT, World

A = "/api/admin/v1/billing"
AdminToken = Callable[..., tuple[int, dict[str, str]]]


def _step(
    client: TestClient, headers: dict[str, str], school: int, version: int, step: str
) -> httpx.Response:
    r: httpx.Response = client.post(
        f"{A}/acts/{school}/steps",
        json={"month": "2026-09", "version": version, "step": step},
        headers=headers,
    )
    return r


def test_money_steps_in_order_by_their_roles_late_flagged_and_a_late_batch_signed_again(
    ctx: AppContext, client: TestClient, clock: FixedClock, world: World, admin_token: AdminToken
) -> None:
    w = world
    w.tariff(1, 1, SEPT, 100_000, 100_000)
    w.tariff(2, 1, SEPT, 100_000, 60_000)
    for i in range(5):
        w.meal(i, date(2026, 9, 15))
    held = w.meal(0, date(2026, 9, 15), status="flagged")  # a second meal of the slot: held, with its reason
    with UnitOfWork(ctx.session_factory) as uow:
        row = uow.session.get(Supplier, w.supplier)
        assert row is not None
        row.iban, row.bank_bik, row.bank_name = "KZ86125KZT5004100100", "KCJBKZKX", "B"
        uow.commit()
    _, pedagogue = admin_token(Role.SOCIAL_PEDAGOGUE, (w.school,), "Almaly")
    _, head = admin_token(Role.SCHOOL_HEAD, (w.school,), "Almaly")
    _, supplier = admin_token(Role.SUPPLIER, (w.school, w.other_school), "Almaly")
    _, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")

    clock.set(datetime(2026, 10, 1, 6, 0, tzinfo=KZ_TZ))
    tick(ctx)  # month end: the timesheet is generated
    [state] = client.get(
        f"{A}/steps", params={"month": "2026-09", "school_id": w.school}, headers=head
    ).json()["acts"]
    assert (state["version"], [d["step"] for d in state["done"]], state["next_step"]) == (
        1,
        ["generated"],
        "submitted",
    )
    assert state["next_due"] == "2026-10-05"
    r = _step(client, supplier, w.school, 1, "supplier_signed")
    assert (r.status_code, r.json()["reason"]) == (409, "STEP_OUT_OF_ORDER")
    r = _step(client, head, w.school, 1, "submitted")
    assert (r.status_code, r.json()["reason"]) == (403, "STEP_WRONG_ROLE")

    clock.set(datetime(2026, 10, 6, 10, 0, tzinfo=KZ_TZ))  # a day after the 5th
    [state] = client.get(f"{A}/steps", params={"month": "2026-09"}, headers=pedagogue).json()["acts"]
    assert state["overdue"] is True  # the console flags the late step before it is done
    r = _step(client, pedagogue, w.school, 1, "submitted")
    assert r.status_code == 200, r.text
    assert r.json()["done"][-1]["late"] is True
    assert _step(client, head, w.school, 1, "head_signed").json()["next_step"] == "supplier_signed"

    w.meal(1, date(2026, 9, 30))  # a late batch after the head signed
    tick(ctx)
    [state] = client.get(
        f"{A}/steps", params={"month": "2026-09", "school_id": w.school}, headers=head
    ).json()["acts"]
    assert (state["version"], state["next_step"]) == (2, "submitted")
    r = _step(client, supplier, w.school, 1, "supplier_signed")
    assert (r.status_code, r.json()["reason"]) == (409, "STALE_VERSION")
    for who, step in ((pedagogue, "submitted"), (head, "head_signed"), (supplier, "supplier_signed")):
        assert _step(client, who, w.school, 2, step).status_code == 200
    r = client.post(f"{A}/payment-register", json={"month": "2026-09"}, headers=district)
    with UnitOfWork(ctx.session_factory) as uow:
        bins = {s: uow.session.get(School, s).bin for s in (w.school, w.other_school)}  # type: ignore[union-attr]
    assert r.json()["lines"] == []  # nothing is paid before the district accepts
    assert sorted((x["school_bin"], x["waiting_for"]) for x in r.json()["not_ready"]) == sorted(
        [(bins[w.school], "district_accepted"), (bins[w.other_school], "submitted")]
    )
    assert _step(client, district, w.school, 2, "district_accepted").json()["next_step"] == "sent_for_payment"

    body = client.post(f"{A}/payment-register", json={"month": "2026-09"}, headers=district).json()
    assert body["format"] == "sm-payment-register/1"
    [line] = body["lines"]
    # 3 free meals + 1 late free meal at 1000 ₸; 2 discounted at 600 ₸ from the state, 400 ₸ from families
    assert (line["act_version"], line["meals"], line["state_tiyn"], line["family_tiyn"]) == (
        2,
        6,
        520_000,
        80_000,
    )
    assert (line["supplier_bin"], line["iban"], line["bank_bic"]) == (
        "210987654321",
        "KZ86125KZT5004100100",
        "KCJBKZKX",
    )
    assert [(h["event_id"], h["status"], h["reasons"]) for h in body["held_meals"]] == [
        (held.hex(), "flagged", ["DOUBLE_MEAL"])
    ]
    [state] = client.get(
        f"{A}/steps", params={"month": "2026-09", "school_id": w.school}, headers=head
    ).json()["acts"]
    assert state["next_step"] is None  # sent for payment

    r = client.post(f"{A}/payment-register", json={"month": "2026-09", "format": "csv"}, headers=district)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["supplier_bin", "supplier_name", "iban"]
    assert rows[1][5:] == ["2", "6", "6000.00", "5200.00", "800.00"]
    assert rows[3] == ["held_school_bin", "event_id", "date", "slot", "status", "reasons"]
    assert rows[4][1:] == [held.hex(), "2026-09-15", "1", "flagged", "DOUBLE_MEAL"]
    _, foreign = admin_token(Role.DISTRICT_ADMIN, (), "Medeu")
    assert (
        client.post(f"{A}/payment-register", json={"month": "2026-09"}, headers=foreign).json()["lines"] == []
    )
