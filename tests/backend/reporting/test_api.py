"""Billing and daily-report endpoints: role scoping (403 by role, 404 outside scope), formats, figures."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime

import openpyxl
import pytest
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import KZ_TZ, FixedClock

from .conftest import World
from .test_billing_services import standard_tariffs

AdminToken = Callable[..., tuple[int, dict[str, str]]]
OCT_2 = datetime(2026, 10, 2, 9, 0, tzinfo=KZ_TZ)


@pytest.fixture
def meals(world: World) -> World:
    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    world.meal(3, date(2026, 9, 14))
    world.meal(3, date(2026, 9, 14), slot=1, status="flagged")
    return world


def test_roles_without_billing_get_403(client: TestClient, meals: World, admin_token: AdminToken) -> None:
    for role in (Role.SOCIAL_PEDAGOGUE, Role.TECHNICIAN):
        _, h = admin_token(role, (meals.school,))
        for url in (
            f"/api/admin/v1/billing/timesheets/{meals.school}?month=2026-09",
            f"/api/admin/v1/billing/acts/{meals.school}?month=2026-09",
            "/api/admin/v1/billing/acts?month=2026-09",
        ):
            r = client.get(url, headers=h)
            assert r.status_code == 403, (role, url)
            assert r.json()["reason"] == "FORBIDDEN"
    assert client.get("/api/admin/v1/billing/acts?month=2026-09").status_code == 401


def test_other_school_is_404_for_head_and_supplier(
    client: TestClient, meals: World, admin_token: AdminToken
) -> None:
    for role in (Role.SCHOOL_HEAD, Role.SUPPLIER):
        _, h = admin_token(role, (meals.other_school,))
        r = client.get(f"/api/admin/v1/billing/acts/{meals.school}?month=2026-09", headers=h)
        assert (r.status_code, r.json()["reason"]) == (404, "NOT_FOUND")
        r = client.get(f"/api/admin/v1/billing/timesheets/{meals.school}?month=2026-09", headers=h)
        assert r.status_code == 404


def test_head_sees_names_supplier_sees_display_only(
    client: TestClient, meals: World, admin_token: AdminToken
) -> None:
    _, head = admin_token(Role.SCHOOL_HEAD, (meals.school,))
    _, supplier = admin_token(Role.SUPPLIER, (meals.school,))
    url = f"/api/admin/v1/billing/timesheets/{meals.school}?month=2026-09"
    named = client.get(url, headers=head).json()
    hidden = client.get(url, headers=supplier).json()
    assert named["names_shown"] and any("Тестов" in r["label"] for r in named["rows"])
    assert not hidden["names_shown"] and not any("Тестов" in r["label"] for r in hidden["rows"])
    assert named["total"] == hidden["total"] == 2 and named["held_flagged"] == 1
    for headers, shown in ((head, True), (supplier, False)):
        text = client.get(url + "&format=csv", headers=headers).content.decode("utf-8-sig")
        assert ("Тестов" in text) is shown
        wb = openpyxl.load_workbook(io.BytesIO(client.get(url + "&format=xlsx", headers=headers).content))
        cells = " ".join(str(c.value) for row in wb.active.iter_rows() for c in row if c.value is not None)
        assert ("Тестов" in cells) is shown


def test_district_admin_lists_acts_and_supplier_cannot_sign(
    client: TestClient, meals: World, admin_token: AdminToken, clock: FixedClock
) -> None:
    clock.set(OCT_2)
    _, district = admin_token(Role.DISTRICT_ADMIN, district="Almaly")
    acts = client.get("/api/admin/v1/billing/acts?month=2026-09", headers=district).json()
    mine = next(a for a in acts if a["school_id"] == meals.school)
    assert (mine["status"], mine["version"], mine["meals"]) == ("available", 1, 2)
    assert mine["amount_tiyn"] == 90_000 and mine["parent_tiyn"] == 18_000
    _, supplier = admin_token(Role.SUPPLIER, (meals.school,))
    steps = f"/api/admin/v1/billing/acts/{meals.school}/steps"
    head_signs = {"month": "2026-09", "version": 1, "step": "head_signed"}
    r = client.post(steps, json=head_signs, headers=supplier)
    assert (r.status_code, r.json()["reason"]) == (403, "STEP_WRONG_ROLE")
    _, head = admin_token(Role.SCHOOL_HEAD, (meals.school,))
    r = client.post(steps, json=head_signs, headers=head)  # the pedagogue has not submitted the timesheet
    assert (r.status_code, r.json()["reason"]) == (409, "STEP_OUT_OF_ORDER")
    _, pedagogue = admin_token(Role.SOCIAL_PEDAGOGUE, (meals.school,))
    r = client.post(steps, json={**head_signs, "step": "submitted"}, headers=pedagogue)
    assert r.status_code == 200 and r.json()["next_step"] == "head_signed"
    r = client.post(steps, json=head_signs, headers=head)
    assert r.status_code == 200 and r.json()["next_step"] == "supplier_signed"
    act = client.get(f"/api/admin/v1/billing/acts/{meals.school}?month=2026-09", headers=head).json()
    assert act["status"] == "signed"
    r = client.post(steps, json=head_signs, headers=head)
    assert (r.status_code, r.json()["reason"]) == (409, "STEP_DONE")
    meals.meal(1, date(2026, 9, 30))  # a late batch after the sign-off
    clock.set(datetime(2026, 10, 6, 9, 0, tzinfo=KZ_TZ))
    current = client.get(f"/api/admin/v1/billing/acts/{meals.school}?month=2026-09", headers=supplier).json()
    assert (current["version"], current["status"], current["meals"]) == (2, "overdue", 3)
    versions = client.get(
        f"/api/admin/v1/billing/acts/{meals.school}/versions?month=2026-09", headers=supplier
    )
    assert [(v["version"], v["status"], v["superseded"]) for v in versions.json()] == [
        (2, "overdue", False),
        (1, "signed", True),
    ]


def test_act_exports(client: TestClient, meals: World, admin_token: AdminToken, clock: FixedClock) -> None:
    clock.set(OCT_2)
    _, supplier = admin_token(Role.SUPPLIER, (meals.school,))
    url = f"/api/admin/v1/billing/acts/{meals.school}?month=2026-09"
    rows = list(
        csv.reader(io.StringIO(client.get(url + "&format=csv", headers=supplier).content.decode("utf-8-sig")))
    )
    assert rows[-1][3] == "2" and rows[-1][-1] == "900.00"
    wb = openpyxl.load_workbook(io.BytesIO(client.get(url + "&format=xlsx", headers=supplier).content))
    assert any(c.value == "900.00" for row in wb.active.iter_rows() for c in row)
    pdf = client.get(url + "&format=pdf", headers=supplier)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "v1.pdf" in pdf.headers["content-disposition"]


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("month=2026-13", 422, "INVALID_REQUEST"),  # the description's month pattern refuses it
        ("month=Sept", 422, "INVALID_REQUEST"),
        ("month=2026-09&format=docx", 400, "BAD_FORMAT"),
    ],
)
def test_bad_input_has_reason_codes(
    client: TestClient, meals: World, admin_token: AdminToken, query: str, status: int, reason: str
) -> None:
    _, head = admin_token(Role.SCHOOL_HEAD, (meals.school,))
    r = client.get(f"/api/admin/v1/billing/acts/{meals.school}?{query}", headers=head)
    assert (r.status_code, r.json()["reason"]) == (status, reason)


def test_reconciliation_endpoint(client: TestClient, meals: World, admin_token: AdminToken) -> None:
    _, head = admin_token(Role.SCHOOL_HEAD, (meals.school,))
    r = client.get(f"/api/admin/v1/billing/reconciliation/{meals.school}?month=2026-09", headers=head).json()
    assert r["ok"] and r["events"] == r["act_meals"] == r["timesheet_meals"] == 2
    _, supplier = admin_token(Role.SUPPLIER, (meals.school,))
    url = f"/api/admin/v1/billing/reconciliation/{meals.school}?month=2026-09"
    assert client.get(url, headers=supplier).status_code == 403


# --- daily report -----------------------------------------------------------------------------------------


def test_daily_report_from_events_and_audit(
    client: TestClient, meals: World, admin_token: AdminToken, clock: FixedClock
) -> None:
    day = date(2026, 9, 14)
    meals.voucher_event(0, datetime(2026, 9, 10, 9, tzinfo=KZ_TZ), "awaiting_activation", "active")
    meals.voucher_event(3, datetime(2026, 9, 14, 7, tzinfo=KZ_TZ), "awaiting_activation", "active")
    meals.voucher_event(4, datetime(2026, 9, 14, 10, tzinfo=KZ_TZ), "awaiting_activation", "active")
    meals.voucher_event(
        4, datetime(2026, 9, 14, 23, 30, tzinfo=KZ_TZ), "active", "suspended"
    )  # same local day
    meals.voucher_event(
        1, datetime(2026, 9, 15, 0, 30, tzinfo=KZ_TZ), "awaiting_activation", "active"
    )  # next day
    meals.meal(0, day, slot=2, status="rejected_by_admin")
    _, head = admin_token(Role.SCHOOL_HEAD, (meals.school,))
    r = client.get(f"/api/admin/v1/reports/daily?date={day}&school_id={meals.school}", headers=head)
    assert r.status_code == 200
    body = json.loads(r.content)
    [school] = body["schools"]
    assert (school["activations"], school["active_vouchers"]) == (
        2,
        2,
    )  # vouchers 3 and 4; 0 and 3 active at end
    assert (school["meals_free"], school["meals_discounted"], school["meals_served"]) == (1, 1, 2)
    assert (school["flagged_held"], school["rejected"]) == (1, 1)
    assert school["meals_by_slot"] == {"1": 2}
    csv_r = client.get(
        f"/api/admin/v1/reports/daily?date={day}&school_id={meals.school}&format=csv", headers=head
    )
    rows = list(csv.DictReader(io.StringIO(csv_r.text)))
    assert rows[0]["meals_served"] == "2" and rows[0]["school_bin"] == school["school_bin"]
    # reproducible: a later day's events and a later clock do not change the 14th
    meals.meal(1, date(2026, 9, 15))
    clock.set(datetime(2026, 11, 1, 9, tzinfo=KZ_TZ))
    again = json.loads(
        client.get(f"/api/admin/v1/reports/daily?date={day}&school_id={meals.school}", headers=head).content
    )
    assert again["schools"] == body["schools"]


def test_daily_report_scope_and_bad_input(client: TestClient, meals: World, admin_token: AdminToken) -> None:
    _, head = admin_token(Role.SCHOOL_HEAD, (meals.other_school,))
    r = client.get(f"/api/admin/v1/reports/daily?date=2026-09-14&school_id={meals.school}", headers=head)
    assert r.status_code == 404
    all_mine = json.loads(client.get("/api/admin/v1/reports/daily?date=2026-09-14", headers=head).content)
    assert [s["meals_served"] for s in all_mine["schools"]] == [0]  # only the head's own school
    _, tech = admin_token(Role.TECHNICIAN, (meals.school,))
    assert client.get("/api/admin/v1/reports/daily?date=2026-09-14", headers=tech).status_code == 403
    for q, reason in (
        ("date=14.09.2026", "BAD_DATE"),
        ("date=2026-09-15", "FUTURE_DATE"),
        ("date=2026-09-14&format=xml", "BAD_FORMAT"),
    ):
        r = client.get(f"/api/admin/v1/reports/daily?{q}", headers=head)
        assert (r.status_code, r.json()["reason"]) == (400, reason)


def test_flag_accepted_through_the_review_endpoint_enters_the_act(
    client: TestClient, meals: World, admin_token: AdminToken, clock: FixedClock
) -> None:
    _, head = admin_token(Role.SCHOOL_HEAD, (meals.school,))
    url = f"/api/admin/v1/billing/acts/{meals.school}?month=2026-09"
    assert client.get(url, headers=head).json()["meals"] == 2  # the flagged meal is held
    [held] = client.get(f"/api/admin/v1/flagged-meals?school_id={meals.school}", headers=head).json()["meals"]
    r = client.post(
        f"/api/admin/v1/flagged-meals/{held['event_id']}/decision", json={"decision": "accept"}, headers=head
    )
    assert r.status_code == 200
    act = client.get(url, headers=head).json()
    assert (act["meals"], act["amount_tiyn"]) == (3, 135_000)
    clock.set(OCT_2)
    ts = client.get(f"/api/admin/v1/billing/timesheets/{meals.school}?month=2026-09", headers=head).json()
    assert (ts["total"], ts["held_flagged"]) == (3, 0)
