"""Monthly eligibility list: draft → approved → checked, roles, entry rules, register cross-check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.adapters.state_registry import CategoryRecord, FileRegistry, InMemoryRegistry
from backend.clock import FixedClock
from backend.consent.tables import ConsentRequest
from backend.context import AppContext
from backend.eligibility.model import Category, ListStatus, advance, check_entry, parse_month
from backend.errors import DomainError
from backend.http_errors import status_of
from backend.vouchers.tables import Voucher

from .conftest import CAT, Staff


def test_state_machine_only_moves_forward() -> None:
    assert advance(ListStatus.DRAFT, ListStatus.APPROVED) is ListStatus.APPROVED
    assert advance(ListStatus.APPROVED, ListStatus.CHECKED) is ListStatus.CHECKED
    for cur, target in [
        (ListStatus.DRAFT, ListStatus.CHECKED),
        (ListStatus.APPROVED, ListStatus.APPROVED),
        (ListStatus.CHECKED, ListStatus.APPROVED),
        (ListStatus.CHECKED, ListStatus.DRAFT),
    ]:
        with pytest.raises(DomainError) as e:
            advance(cur, target)
        assert e.value.reason == "LIST_WRONG_STATE" and status_of(e.value) == 409


def test_entry_rules() -> None:
    check_entry(1, None)  # grades 1–4 need no category
    check_entry(4, None)
    check_entry(7, Category.ORPHAN_NO_CARE)
    with pytest.raises(DomainError, match="CATEGORY_REQUIRED"):
        check_entry(5, None)
    for grade in (0, 12):
        with pytest.raises(DomainError, match="GRADE_INVALID"):
            check_entry(grade, Category.ORPHAN_NO_CARE)
    assert parse_month("2026-09") == date(2026, 9, 1)
    with pytest.raises(DomainError, match="MONTH_INVALID"):
        parse_month("2026-13")


def test_in_memory_registry_reasons() -> None:
    reg = InMemoryRegistry([CategoryRecord("1", CAT, date(2026, 1, 1), date(2026, 8, 31))])
    assert reg.check("1", CAT, date(2026, 8, 31)) is None
    assert reg.check("1", CAT, date(2026, 9, 1)) == "CATEGORY_EXPIRED"
    assert reg.check("1", Category.ORPHAN_NO_CARE, date(2026, 5, 1)) == "CATEGORY_MISMATCH"
    assert reg.check("2", CAT, date(2026, 5, 1)) == "NOT_IN_REGISTER"


def test_file_registry_csv_and_json(tmp_path: Any) -> None:
    csv_path = tmp_path / "reg.csv"
    csv_path.write_text(
        "iin,category,valid_from,valid_to\n111,orphan_or_no_parental_care,2026-01-01,2027-01-01\n"
    )
    json_path = tmp_path / "reg.json"
    json_path.write_text(
        '[{"iin": "222", "category": "below_subsistence_minimum", "valid_from": "2026-01-01", "valid_to": "2026-02-01"}]'
    )
    assert FileRegistry(csv_path).check("111", Category.ORPHAN_NO_CARE, date(2026, 9, 1)) is None
    assert (
        FileRegistry(json_path).check("222", Category.BELOW_SUBSISTENCE, date(2026, 9, 1))
        == "CATEGORY_EXPIRED"
    )


def test_roles_on_each_step(
    client: TestClient,
    staff: Callable[..., Staff],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
) -> None:
    school = make_school()
    pupil = make_pupil(school, grade=2)
    s = staff(school)
    url = f"/api/admin/v1/schools/{school}/eligibility-lists"
    assert client.post(url, json={"month": "2026-09"}, headers=s.head).status_code == 403
    list_id = client.post(url, json={"month": "2026-09"}, headers=s.pedagogue).json()["id"]
    r = client.post(url, json={"month": "2026-09"}, headers=s.pedagogue)
    assert r.status_code == 409 and r.json()["reason"] == "DUPLICATE"
    r = client.post(f"/api/admin/v1/eligibility-lists/{list_id}/approve", headers=s.head)
    assert r.json()["reason"] == "EMPTY_LIST"
    entries = f"/api/admin/v1/eligibility-lists/{list_id}/entries"
    assert client.post(entries, json={"pupil_id": pupil}, headers=s.head).status_code == 403
    assert client.post(entries, json={"pupil_id": pupil}, headers=s.pedagogue).status_code == 201
    r = client.post(entries, json={"pupil_id": pupil}, headers=s.pedagogue)
    assert r.status_code == 409 and r.json()["reason"] == "DUPLICATE"
    # check before approval is refused, approval by the pedagogue too
    assert client.post(f"/api/admin/v1/eligibility-lists/{list_id}/check", headers=s.head).status_code == 409
    assert (
        client.post(f"/api/admin/v1/eligibility-lists/{list_id}/approve", headers=s.pedagogue).status_code
        == 403
    )
    assert (
        client.post(f"/api/admin/v1/eligibility-lists/{list_id}/approve", headers=s.head).json()["status"]
        == "approved"
    )
    # an approved list is frozen
    r = client.delete(f"{entries}/{pupil}", headers=s.pedagogue)
    assert r.status_code == 409 and r.json()["reason"] == "LIST_WRONG_STATE"
    assert (
        client.post(f"/api/admin/v1/eligibility-lists/{list_id}/check", headers=s.district).status_code == 200
    )
    assert (
        client.get(f"/api/admin/v1/eligibility-lists/{list_id}", headers=s.head).json()["status"] == "checked"
    )
    lists = client.get(f"/api/admin/v1/schools/{school}/eligibility-lists", headers=s.district).json()
    assert [(x["id"], x["month"], x["status"]) for x in lists] == [(list_id, "2026-09", "checked")]


def test_foreign_school_and_pupil_are_404(
    client: TestClient,
    staff: Callable[..., Staff],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
) -> None:
    mine, other = make_school(), make_school("Bostandyk")
    foreign_pupil = make_pupil(other, grade=3)
    s = staff(mine)
    r = client.post(
        f"/api/admin/v1/schools/{other}/eligibility-lists", json={"month": "2026-09"}, headers=s.pedagogue
    )
    assert r.status_code == 404
    list_id = client.post(
        f"/api/admin/v1/schools/{mine}/eligibility-lists", json={"month": "2026-09"}, headers=s.pedagogue
    ).json()["id"]
    r = client.post(
        f"/api/admin/v1/eligibility-lists/{list_id}/entries",
        json={"pupil_id": foreign_pupil},
        headers=s.pedagogue,
    )
    assert r.status_code == 404
    assert client.get(f"/api/admin/v1/schools/{other}/pupils", headers=s.head).status_code == 404
    other_staff = staff(other, district="Bostandyk")
    assert (
        client.get(f"/api/admin/v1/eligibility-lists/{list_id}", headers=other_staff.head).status_code == 404
    )
    assert (
        client.get(f"/api/admin/v1/eligibility-lists/{list_id}", headers=other_staff.district).status_code
        == 404
    )


def test_grade_5_needs_category_over_api(
    client: TestClient,
    staff: Callable[..., Staff],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
) -> None:
    school = make_school()
    s = staff(school)
    list_id = client.post(
        f"/api/admin/v1/schools/{school}/eligibility-lists", json={"month": "2026-09"}, headers=s.pedagogue
    ).json()["id"]
    r = client.post(
        f"/api/admin/v1/eligibility-lists/{list_id}/entries",
        json={"pupil_id": make_pupil(school, grade=6)},
        headers=s.pedagogue,
    )
    assert r.status_code == 400 and r.json()["reason"] == "CATEGORY_REQUIRED"
    r = client.post(
        f"/api/admin/v1/eligibility-lists/{list_id}/entries",
        json={"pupil_id": make_pupil(school, grade=6), "category": "rich"},
        headers=s.pedagogue,
    )
    assert r.status_code == 400 and r.json()["reason"] == "CATEGORY_UNKNOWN"


def test_check_confirms_returns_and_forms(
    client: TestClient,
    ctx: AppContext,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    registered: Callable[..., None],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    staff: Callable[..., Staff],
) -> None:
    school = make_school()
    small = make_pupil(school, grade=1)
    ok = make_pupil(school, grade=7)
    expired = make_pupil(school, grade=8)
    unknown = make_pupil(school, grade=9)
    for p in (ok, expired, unknown):
        link(p, make_parent())
    registered(ok)
    registered(expired, valid_to=date(2026, 6, 30))
    list_id, summary = checked_list(school, [(small, None), (ok, CAT), (expired, CAT), (unknown, CAT)])
    assert summary["confirmed"] == 2 and summary["returned"] == 2
    assert summary["vouchers_formed"] == 1 and summary["consent_requests"] == 1
    got = client.get(f"/api/admin/v1/eligibility-lists/{list_id}", headers=staff(school).head).json()
    by_pupil = {e["pupil_id"]: (e["result"], e["reason"]) for e in got["entries"]}
    assert by_pupil == {
        small: ("confirmed", None),
        ok: ("confirmed", None),
        expired: ("returned", "CATEGORY_EXPIRED"),
        unknown: ("returned", "NOT_IN_REGISTER"),
    }
    with ctx.session_factory() as s:
        vouchers = s.scalars(select(Voucher)).all()
    assert [(v.pupil_id, v.status, v.valid_until) for v in vouchers] == [
        (small, "awaiting_activation", date(2027, 5, 31))
    ]


def test_returned_pupil_loses_voucher_and_regains_it(
    ctx: AppContext,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    make_school: Callable[..., int],
    registered: Callable[..., None],
    registered_child: Callable[..., int],
    client: TestClient,
    clock: FixedClock,
) -> None:
    school = make_school()
    pupil = registered_child(school, "+77017770001", valid_to=date(2026, 9, 30))
    checked_list(school, [(pupil, CAT)], month="2026-09")
    assert client.post("/api/sms/v1/inbound", json={"from": "+77017770001", "text": "3#1"}).status_code == 200
    assert _status(ctx, pupil) == "awaiting_activation"
    # October: the category lapsed → returned → voucher suspended (eligibility lost)
    clock.advance(timedelta(days=30))
    _, summary = checked_list(school, [(pupil, CAT)], month="2026-10")
    assert summary["returned"] == 1 and summary["suspended"] == 1
    assert _status(ctx, pupil) == "suspended"
    # November: confirmed again → back to the state before suspension, with no new consent SMS
    registered(pupil, valid_to=date(2027, 5, 31))
    _, summary = checked_list(school, [(pupil, CAT)], month="2026-11")
    assert summary["consent_requests"] == 0
    assert _status(ctx, pupil) == "awaiting_activation"


def _status(ctx: AppContext, pupil_id: int) -> str:
    with ctx.session_factory() as s:
        status = s.scalar(select(Voucher.status).where(Voucher.pupil_id == pupil_id))
        assert status is not None
        return status


def test_grades_1_to_4_get_a_voucher_without_sms_and_only_one_per_school_year(
    ctx: AppContext,
    client: TestClient,
    clock: FixedClock,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    make_school: Callable[..., int],
    registered_child: Callable[..., int],
    sent_sms: Callable[[], list[tuple[str, str, str]]],
) -> None:
    school = make_school()
    # a mother with a phone on record: the rule, not a missing number, is what keeps the SMS away
    pupil = registered_child(school, "+77019990001", grade=3)
    _, september = checked_list(school, [(pupil, None)], month="2026-09")
    clock.advance(timedelta(days=30))
    _, october = checked_list(school, [(pupil, None)], month="2026-10")
    assert (september["vouchers_formed"], october["vouchers_formed"]) == (1, 0)
    assert september["consent_requests"] == october["consent_requests"] == 0
    assert sent_sms() == []
    with ctx.session_factory() as s:
        assert s.scalars(select(ConsentRequest)).all() == []
        vouchers = s.scalars(select(Voucher).where(Voucher.pupil_id == pupil)).all()
    assert [(v.school_year, v.status) for v in vouchers] == [(2026, "awaiting_activation")]
