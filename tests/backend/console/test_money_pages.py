"""The money steps in the console's pages (backend.billing.steps through the pages): the pedagogue
submits the month's timesheet (late after the 5th), the head signs as the step (one signing path), a
late batch makes a version the page asks to sign again, the supplier signs, the district accepts from
an acts list that filters and pages on the server, and each step shows in the act's history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from html import unescape
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.auth.services import create_admin
from backend.billing import services as billing
from backend.clock import KZ_TZ, FixedClock
from backend.config import Settings
from backend.context import AppContext
from backend.roster.tables import Supplier
from backend.unit_of_work import UnitOfWork
from backend.web.console import billing as pages
from backend.web_settings import WebSettings
from tests.backend.reporting import conftest as billing_world
from tests.backend.reporting.conftest import SEPT, World

world = billing_world.world  # the billing suites' world: schools, supplier, pupils, meals
PASSWORD = "a-long-test-password-2026"
MONTH = "2026-09"


@pytest.fixture
def settings(backend_url: str, tmp_path: Path) -> Settings:
    """The pages' cookies over the test client's plain http."""
    return Settings(
        database_url=backend_url,
        key_dir=tmp_path / "keys",
        sms_outbox_file=tmp_path / "outbox.jsonl",
        web=WebSettings(cookie_secure=False),
    )


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html[:300]
    return found.group(1)


class Staff:
    def __init__(self, client: TestClient) -> None:
        self.c = client

    def get(self, path: str) -> str:
        r: httpx.Response = self.c.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.text

    def step(self, page: str, school: int, step: str, version: int) -> httpx.Response:
        csrf = _csrf(self.get(page))
        r: httpx.Response = self.c.post(
            f"/staff/acts/{school}/steps",
            data={"csrf": csrf, "month": MONTH, "version": str(version), "step": step},
        )
        return r


@pytest.fixture
def staff(
    app: object,
    uow_factory: Callable[[], UnitOfWork],
    world: World,
) -> Iterator[Callable[[Role], Staff]]:
    w = world
    with uow_factory() as uow:
        for role in (Role.SOCIAL_PEDAGOGUE, Role.SCHOOL_HEAD, Role.SUPPLIER):
            create_admin(uow.session, login=role.value, password=PASSWORD, role=role, school_ids=(w.school,))
        create_admin(
            uow.session, login="district", password=PASSWORD, role=Role.DISTRICT_ADMIN, district="Almaly"
        )
        uow.commit()
    clients: list[TestClient] = []

    def sign_in(role: Role) -> Staff:
        c = TestClient(app, headers={"Accept-Language": "en"}, follow_redirects=False)  # type: ignore[arg-type]
        clients.append(c)
        login = "district" if role is Role.DISTRICT_ADMIN else role.value
        r = c.post(
            "/staff/sign-in",
            data={"csrf": _csrf(c.get("/staff").text), "login": login, "password": PASSWORD},
        )
        assert r.status_code == 303, r.text[:300]
        return Staff(c)

    yield sign_in
    for c in clients:
        c.close()


def _meals(w: World) -> None:
    w.tariff(1, 1, SEPT, 100_000, 100_000)
    w.tariff(2, 1, SEPT, 100_000, 60_000)
    for i in range(5):
        w.meal(i, date(2026, 9, 15))


def _history(html: str) -> list[str]:
    table = html[html.index('id="step-history"') :]
    table = table[: table.index("</table>")]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in table.split("<tr>")[2:]]


def test_each_role_does_its_step_from_its_page_and_a_late_batch_is_signed_again(
    ctx: AppContext,
    clock: FixedClock,
    world: World,
    staff: Callable[[Role], Staff],
) -> None:
    w = world
    _meals(w)
    clock.set(datetime(2026, 10, 2, 9, 0, tzinfo=KZ_TZ))
    ped, head, supplier = staff(Role.SOCIAL_PEDAGOGUE), staff(Role.SCHOOL_HEAD), staff(Role.SUPPLIER)
    sheet = f"/staff/timesheet?school={w.school}&month={MONTH}"
    act = f"/staff/acts/{w.school}?month={MONTH}"

    html = ped.get(sheet)
    assert "Waiting for the social pedagogue to submit the timesheet" in html
    assert "Оқушы0 Тестов" in html and "Due by" in html and "2026-10-06" in html  # made on the 2nd
    assert "Submit the timesheet" in html and "Overdue" not in html
    # the head's page has no button before the pedagogue's step, and the head cannot do it
    assert "Sign the act" not in head.get(act)
    r = head.step(act, w.school, "submitted", 1)
    assert r.status_code == 403 and "another role" in r.text
    r = ped.step(sheet, w.school, "submitted", 1)
    assert r.status_code == 303 and r.headers["location"].endswith("done=submitted")
    html = ped.get(sheet + "&done=submitted")
    assert "The timesheet is submitted" in html and "Submit the timesheet" not in html
    assert _history(html) == [
        "1 Timesheet generated the system 2026-10-02 09:00 2026-10-02",
        "1 Timesheet submitted by the social pedagogue social_pedagogue 2026-10-02 09:00 2026-10-06",
    ]

    # the head signs as the step: the act is signed by the same action (one signing path)
    html = head.get(act)
    assert "Waiting for the head's signature" in html and "Sign the act" in html
    assert head.step(act, w.school, "head_signed", 1).status_code == 303
    with UnitOfWork(ctx.session_factory) as uow:
        assert billing.act_version(uow.session, w.school, SEPT, 1, clock.now()).signed_at is not None
    html = supplier.get(act)
    assert "Sign the act as the supplier" in html and "Оқушы0" not in html  # no names for the supplier
    assert f'action="/staff/acts/{w.school}/sign"' not in html

    # a late batch after the head signed: version 2, the page says it must be signed again
    w.meal(1, date(2026, 9, 30))
    clock.set(datetime(2026, 10, 9, 10, 0, tzinfo=KZ_TZ))
    ped, head, supplier = staff(Role.SOCIAL_PEDAGOGUE), staff(Role.SCHOOL_HEAD), staff(Role.SUPPLIER)
    html = head.get(act)
    assert 'id="sign-again"' in html and "after version 1 was signed. Version 2 must be" in html
    assert "Waiting for the social pedagogue" in html
    r = supplier.step(act, w.school, "supplier_signed", 1)
    assert r.status_code == 409 and "The act changed since you opened it" in r.text
    html = ped.get(sheet)
    assert "Submit the timesheet" in html and "Overdue" not in html  # version 2 was made on the 9th
    clock.set(datetime(2026, 10, 14, 10, 0, tzinfo=KZ_TZ))  # past version 2's due date (the 13th)
    ped, head, supplier = staff(Role.SOCIAL_PEDAGOGUE), staff(Role.SCHOOL_HEAD), staff(Role.SUPPLIER)
    html = ped.get(sheet)
    assert "Overdue" in html and "recorded as late" in html
    assert ped.step(sheet, w.school, "submitted", 2).status_code == 303
    assert "Done late" in _history(ped.get(sheet))[-1]
    assert head.step(act, w.school, "head_signed", 2).status_code == 303
    assert supplier.step(act, w.school, "supplier_signed", 2).status_code == 303
    html = supplier.get(act + "&done=supplier_signed")
    assert "The supplier's signature is recorded" in html
    assert "Waiting for the district's acceptance" in html
    steps_v2 = [r for r in _history(html) if r.startswith("2 ")]
    assert [r.split(" 2026-")[0] for r in steps_v2] == [
        "2 Timesheet generated the system",
        "2 Timesheet submitted by the social pedagogue Done late social_pedagogue",
        "2 Signed by the head school_head",
        "2 Signed by the supplier supplier",
    ]
    assert len(_history(html)) == 7  # version 1's three steps stay in the history


def test_the_district_filters_and_pages_its_acts_and_accepts_one(
    clock: FixedClock,
    world: World,
    staff: Callable[[Role], Staff],
    make_school: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = world
    _meals(w)
    make_school(district="Almaly", name="Яблоко")  # no supplier: no act
    clock.set(datetime(2026, 10, 2, 9, 0, tzinfo=KZ_TZ))
    ped, head, supplier = staff(Role.SOCIAL_PEDAGOGUE), staff(Role.SCHOOL_HEAD), staff(Role.SUPPLIER)
    district = staff(Role.DISTRICT_ADMIN)
    act = f"/staff/acts/{w.school}?month={MONTH}"
    sheet = f"/staff/timesheet?school={w.school}&month={MONTH}"
    html = district.get(f"/staff/acts?month={MONTH}")
    assert "2 acts" in html and "No supplier, so no act:" in html and "Яблоко" in html
    clock.set(datetime(2026, 10, 8, 9, 0, tzinfo=KZ_TZ))  # past the 6th: both are overdue
    ped, head, supplier = staff(Role.SOCIAL_PEDAGOGUE), staff(Role.SCHOOL_HEAD), staff(Role.SUPPLIER)
    district = staff(Role.DISTRICT_ADMIN)
    assert ped.step(sheet, w.school, "submitted", 1).status_code == 303
    for who, step in ((head, "head_signed"), (supplier, "supplier_signed")):
        assert who.step(act, w.school, step, 1).status_code == 303

    def rows(query: str) -> list[str]:
        html = district.get(f"/staff/acts?month={MONTH}&{query}")
        body = html[html.index('<table id="acts">') :]
        return re.findall(r'<a href="/staff/acts/(\d+)\?', body[: body.index("</table>")])

    assert rows("waiting=district_accepted") == [str(w.school)]
    assert rows("waiting=submitted") == [str(w.other_school)]
    assert rows("flag=late") == [str(w.school)]  # the pedagogue submitted after the 6th
    assert rows("flag=overdue") == [str(w.other_school)]  # still waiting, past its due date
    assert rows("waiting=paid") == [] and rows("flag=nonsense") == []
    # the dashboard's figures are the same states' counts, and link to those lists
    html = district.get("/staff/dashboard")
    assert re.search(r'id="acts-overdue">(\d+)<', html).group(1) == str(len(rows("flag=overdue")))  # type: ignore[union-attr]
    assert re.search(r'id="acts-late">(\d+)<', html).group(1) == str(len(rows("flag=late")))  # type: ignore[union-attr]
    chart = html[html.index('id="chart-acts"') :]
    bars = dict(
        (unescape(k), v)
        for k, v in re.findall(r'data-label="([^"]+)" data-value="(\d+)"', chart[: chart.index("</svg>")])
    )
    assert bars == {
        "Waiting for the social pedagogue to submit the timesheet": "1",
        "Waiting for the district's acceptance": "1",
    }
    monkeypatch.setattr(pages, "PAGE", 1)
    first, second = rows("page=1"), rows("page=2")
    assert len(first) == len(second) == 1 and {*first, *second} == {str(w.school), str(w.other_school)}
    assert "Page 1 of 2" in district.get(f"/staff/acts?month={MONTH}&page=1")

    html = district.get(act)
    assert "Accept the act for payment" in html
    assert district.step(act, w.school, "district_accepted", 1).status_code == 303
    html = district.get(act + "&done=district_accepted")
    assert "goes into the month's payment register" in html
    assert "Accepted, waiting for the payment register" in html
    assert rows("waiting=sent_for_payment") == [str(w.school)]


def test_the_payment_register_page_shows_what_is_paid_and_held_and_downloads_it(
    ctx: AppContext,
    clock: FixedClock,
    world: World,
    staff: Callable[[Role], Staff],
) -> None:
    w = world
    _meals(w)
    held = w.meal(0, date(2026, 9, 15), status="flagged")
    with UnitOfWork(ctx.session_factory) as uow:
        supplier = uow.session.get(Supplier, w.supplier)
        assert supplier is not None
        supplier.iban, supplier.bank_bik = "KZ86125KZT5004100100", "KCJBKZKX"
        uow.commit()
    clock.set(datetime(2026, 10, 2, 9, 0, tzinfo=KZ_TZ))
    ped, head, supplier_ = staff(Role.SOCIAL_PEDAGOGUE), staff(Role.SCHOOL_HEAD), staff(Role.SUPPLIER)
    district = staff(Role.DISTRICT_ADMIN)
    act = f"/staff/acts/{w.school}?month={MONTH}"
    assert ped.step(f"/staff/timesheet?month={MONTH}", w.school, "submitted", 1).status_code == 303
    for who, step in ((head, "head_signed"), (supplier_, "supplier_signed"), (district, "district_accepted")):
        assert who.step(act, w.school, step, 1).status_code == 303

    def table(html: str, name: str) -> list[list[str]]:
        body = html[html.index(f'<table id="{name}">') :]
        body = body[: body.index("</table>")]
        return [
            [
                re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", c))).strip()
                for c in re.findall(r"<td[^>]*>(.*?)</td>", row)
            ]
            for row in body.split("<tr>")[2:]
        ]

    district.get(f"/staff/acts?month={MONTH}")  # every act of the month is made (as the worker does)
    html = district.get(f"/staff/register?month={MONTH}")
    # 3 free meals at 1000 ₸; 2 discounted at 600 ₸ from the state and 400 ₸ from the families
    assert table(html, "register-lines") == [
        [
            "«Дәмді ас» ЖШС",
            "210987654321",
            "KZ86125KZT5004100100 · KCJBKZKX",
            "№5 мектеп-гимназиясы · version 1",
            "5",
            "4 200.00",
            "800.00",
        ]
    ]
    assert (
        table(html, "register-not-ready")[0][2] == "Waiting for the social pedagogue to submit the timesheet"
    )
    assert table(html, "register-held") == [
        [
            "№5 мектеп-гимназиясы",
            "2026-09-15",
            "Breakfast",
            "Held for a decision",
            "A second meal in the same slot",
        ]
    ]
    assert "Accepted, waiting for the payment register" in district.get(act)  # the page only reads

    csrf = _csrf(html)
    r = district.c.post("/staff/register.csv", data={"csrf": csrf, "month": MONTH})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="payment-register-2026-09.csv"' in r.headers["content-disposition"]
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[1].endswith(",1,5,5000.00,4200.00,800.00") and held.hex() in lines[-1]
    r = district.c.post("/staff/register.json", data={"csrf": csrf, "month": MONTH})
    body = r.json()
    assert body["format"] == "sm-payment-register/1" and body["total_state_tiyn"] == 420_000
    assert [h["event_id"] for h in body["held_meals"]] == [held.hex()]
    assert "Sent for payment" in district.get(act)  # the export sent the act for payment
    assert district.c.post("/staff/register.xml", data={"csrf": csrf, "month": MONTH}).status_code == 404
    assert head.c.get(f"/staff/register?month={MONTH}").status_code == 403
