"""The staff console in a real browser. Every role's pages render in Kazakh, Russian and English with no
serious or critical axe-core violation and are photographed; each role's main journey is walked: the
district admin imports a pupils' file and watches the progress bar finish, downloads the rejected rows,
creates a pedagogue and a supplier and links it; the new pedagogue (signed in with the temporary
password) forms next month's list from last month's, a class and a search; the head returns it with a
comment, then approves and cross-checks it, issues an enrolment code, decides a flagged meal from that
terminal; the canteen sees the served list; then last month's money steps: the pedagogue submits the
timesheet, the head signs the act, the supplier signs it and downloads the PDF, the district accepts it and
downloads the payment register as CSV and JSON; a head of another district's school sees none of it."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.auth.model import Principal, Role
from backend.auth.services import admin_principal, create_admin
from backend.auth.tables import Admin
from backend.calendar.model import DayRule
from backend.calendar.services import set_day
from backend.clock import FixedClock
from backend.eligibility.tables import EligibilityList
from backend.feedback.services import file_complaint, forward, resolve
from backend.menu.services import publish
from backend.roster.iin import make_iin
from backend.roster.tables import Guardianship, School
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher
from demo import data as D
from demo.staff import seed_staff
from shared_crypto import SigningKey
from tests.backend.operations.conftest import Device

from .harness import LiveServer, local, run_axe, shot

WIDE = {"width": 1280, "height": 900}
LUNCH: list[object] = [
    {"kk": "Палау", "ru": "Плов"},
    {"kk": "Көкөніс салаты", "ru": "Овощной салат", "allergens": ["celery", "mustard"]},
    {"kk": "Нан", "ru": "Хлеб", "allergens": ["gluten", "sesame"]},
    {"kk": "Айран", "ru": "Айран", "allergens": ["milk"]},
]


def _sign_in(page: Any, url: str, login: str, password: str = D.PASSWORD) -> None:
    page.goto(url + "/staff")
    page.fill("#login", login)
    page.fill("#password", password)
    with page.expect_navigation():
        page.locator('form[action="/staff/sign-in"] button[type="submit"]').click()
    assert page.url.split("?")[0] != url + "/staff/sign-in", "the sign-in was refused"
    assert page.locator('form[action="/staff/sign-out"]').count() == 1, page.url


def _check(page: Any, lang: str, name: str, tmp: Path) -> None:
    assert page.get_attribute("html", "lang") == lang, name
    violations = run_axe(page)
    assert violations == [], f"{name}: {violations}"
    shot(page, lang, f"console-{name}", tmp)


def _submit(page: Any, action: str, button: str | None = None) -> None:
    form = page.locator(f'form[action="{action}"][method="post"]')
    target = form.locator(f'button[value="{button}"]') if button else form.locator('button[type="submit"]')
    with page.expect_navigation():
        target.first.click()


def _list_id(live: LiveServer) -> int:
    with live.ctx.session_factory() as session:
        found = session.scalar(
            select(EligibilityList.id).where(EligibilityList.school_id == live.district.school_id)
        )
        assert found is not None
        return found


def _pages(live: LiveServer) -> dict[str, list[tuple[str, str]]]:
    school, lst = live.district.school_id, _list_id(live)
    return {
        "district.admin": [
            ("dashboard", "/staff/dashboard"),
            ("imports", "/staff/imports"),
            ("accounts", "/staff/accounts"),
            ("suppliers", "/staff/suppliers"),
            ("acts", "/staff/acts"),
            ("act", f"/staff/acts/{school}?month=2026-11"),
            ("register", "/staff/register?month=2026-11"),
            ("tariffs", "/staff/tariffs"),
            ("reask", "/staff/reask"),
            ("revoke", "/staff/revoke"),
            ("outbox", "/staff/outbox"),
            ("complaints", "/staff/complaints"),
            ("categories", "/staff/categories"),
            ("security", "/staff/security"),
        ],
        "school.head": [
            ("lists", "/staff/lists"),
            ("list", f"/staff/lists/{lst}"),
            ("flagged", "/staff/flagged"),
            ("terminals", "/staff/terminals"),
            ("calendar", "/staff/calendar"),
            ("menu", "/staff/menu"),
            ("menu-day", "/staff/menu/2026-12-08/2"),
            ("complaints", "/staff/complaints"),
            ("acts", "/staff/acts"),
            ("act", f"/staff/acts/{school}?month=2026-11"),
        ],
        "social.pedagogue": [
            ("lists", "/staff/lists"),
            ("list", f"/staff/lists/{lst}"),
            ("followups", "/staff/followups"),
            ("timesheet", "/staff/timesheet?month=2026-11"),
            ("categories", "/staff/categories"),
        ],
        "supplier": [
            ("acts", "/staff/acts"),
            ("act", f"/staff/acts/{school}?month=2026-11"),
            ("menu", "/staff/menu"),
            ("ratings", "/staff/ratings"),
        ],
        "canteen.staff": [("served", "/staff/served")],
        "technician": [("terminals", "/staff/terminals")],
    }


def _school_pages_content(live: LiveServer) -> None:
    """What the calendar, menu and complaints pages show: a holiday, the week's lunches with allergens,
    a complaint forwarded to e-Otinish and one answered."""
    ctx, school = live.ctx, live.district.school_id
    head = Principal("admin", 1, Role.SCHOOL_HEAD, None, frozenset({school}))
    now = live.clock.now()
    with UnitOfWork(ctx.session_factory) as uow:
        set_day(uow, DayRule(date(2026, 12, 16), False, None, "Тәуелсіздік күні"), school_id=school)
    for offset in range(4):
        with UnitOfWork(ctx.session_factory) as uow:
            publish(uow, head, school, date(2026, 12, 8) + timedelta(days=offset), 2, LUNCH, now)
    with ctx.session_factory() as session:
        parent_id, pupil = session.execute(
            select(Guardianship.parent_id, Guardianship.pupil_id).order_by(Guardianship.id)
        ).first() or (0, 0)
        admin = session.scalars(select(Admin).where(Admin.login == "district.admin")).one()
        district = admin_principal(session, admin)
    mother = Principal("parent", parent_id, pupil_ids=frozenset({pupil}))
    ids = []
    for text in ("Палау суық болды", "Порция аз болды / Порция была маленькой"):
        with UnitOfWork(ctx.session_factory) as uow:
            ids.append(file_complaint(uow, mother, pupil, text, event_id=None, now=now).id)
    with UnitOfWork(ctx.session_factory) as uow:
        forward(uow, district, ids[0], now=now)
    with UnitOfWork(ctx.session_factory) as uow:
        resolve(
            uow, district, ids[1], "Порциялар нормаға сай үлкейтілді / Порции увеличены до нормы", now=now
        )


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_console_page_renders_in_each_language(
    browser: Any, live: LiveServer, lang: str, tmp_path: Path
) -> None:
    seed_staff(live.ctx.session_factory, live.district.school_id)
    _school_pages_content(live)
    for login, pages in _pages(live).items():
        context = browser.new_context(
            locale=lang, extra_http_headers={"Accept-Language": lang}, viewport=WIDE
        )
        page = context.new_page()
        page.goto(live.url + "/staff")
        if login == "district.admin":
            _check(page, lang, "sign-in", tmp_path)
        _sign_in(page, live.url, login)
        role = login.split(".")[-1]
        for name, path in pages:
            response = page.goto(live.url + path)
            assert response is not None and response.status == 200, (
                login,
                path,
                response and response.status,
            )
            assert "Reason code" not in page.content(), (login, path)
            _check(page, lang, f"{role}-{name}", tmp_path)
        context.close()


def _pupils_csv(n: int) -> tuple[bytes, int]:
    """A pupils' export with about `n` new pupils of class 3И, and two rows to reject."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["iin", "full_name", "grade", "class_name", "school_bin"])
    valid = 0
    for k in range(n):
        iin = make_iin(f"2{k + 500_000:010d}")
        if iin is not None:
            valid += 1
            out.writerow([iin, f"Imported Pupil {k}", 3, "3И", D.SCHOOL_BIN])
    out.writerow(["123", "Bad Iin", 3, "3И", D.SCHOOL_BIN])
    out.writerow(["notanumber", "Bad Row", "x", "3И", "999999999999"])
    return buf.getvalue().encode(), valid


def test_console_journeys(browser: Any, live: LiveServer, tmp_path: Path) -> None:
    lang = "en"
    seed_staff(live.ctx.session_factory, live.district.school_id)
    school = live.district.school_id

    def new_page() -> Any:
        context = browser.new_context(
            locale=lang, extra_http_headers={"Accept-Language": lang}, viewport=WIDE
        )
        return context.new_page()

    # 1. district admin: import a pupils' file and watch the progress bar finish
    admin = new_page()
    _sign_in(admin, live.url, "district.admin")
    admin.goto(live.url + "/staff/imports")
    upload = tmp_path / "pupils.csv"
    body, imported = _pupils_csv(3000)
    upload.write_bytes(body)
    admin.select_option("#kind", "pupils")
    admin.set_input_files("#file", str(upload))
    _submit(admin, "/staff/imports")
    assert re.search(r"/staff/imports/\d+$", admin.url)
    seen = set()
    for _ in range(120):
        seen.add(admin.get_attribute("#progress", "value"))
        if admin.text_content("#job-state") == "Finished":
            break
        admin.wait_for_timeout(500)
        admin.reload()
    assert admin.text_content("#job-state") == "Finished", seen
    assert admin.get_attribute("#progress", "value") == "100"
    assert f"Accepted: {imported}. Rejected: 2." in (admin.text_content("main") or "")
    _check(admin, lang, "journey-import-done", tmp_path)
    with admin.expect_download() as download:
        admin.click("text=Download the rejected rows (CSV)")
    rejected = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rejected[0] == "row,reason,detail" and len(rejected) == 3
    admin.goto(live.url + "/staff/imports")  # left and come back: the list shows how it ended
    assert "Finished" in (admin.text_content("table") or "")

    # create a pedagogue; the temporary password is shown once
    admin.goto(live.url + "/staff/accounts")
    admin.fill("#login", "new.pedagogue")
    admin.select_option("#role", "social_pedagogue")
    admin.select_option("#school", str(school))
    _submit(admin, "/staff/accounts")
    password = admin.text_content("#temporary-password")
    assert password and len(password) >= 16
    _check(admin, lang, "journey-account-created", tmp_path)

    # a supplier with its bank details, linked to the school from next year
    admin.goto(live.url + "/staff/suppliers")
    admin.fill("#name", "Dastarkhan Catering")
    admin.fill("#bin", "123")
    admin.fill("#iban", "KZ86125KZT5004100100")
    admin.fill("#bank_bik", "KCJBKZKX")
    _submit(admin, "/staff/suppliers")
    assert admin.locator(".error-summary").is_visible()  # a BIN is 12 digits
    _check(admin, lang, "journey-supplier-error", tmp_path)
    admin.fill("#bin", "123456789012")
    _submit(admin, "/staff/suppliers")
    assert "done=created" in admin.url
    admin.select_option("#supplier", label="Dastarkhan Catering")
    admin.select_option("#school", str(school))
    admin.fill("#valid_from", "2027-01-01")
    _submit(admin, "/staff/suppliers/links")
    assert "done=linked" in admin.url
    links = admin.text_content("table >> nth=1") or ""
    assert "Dastarkhan Catering" in links and "2027-01-01" in links

    # 2. the new pedagogue forms next month's list
    ped = new_page()
    _sign_in(ped, live.url, "new.pedagogue", password)
    ped.goto(f"{live.url}/staff/lists?school={school}")
    ped.fill("#month", "2027-01")
    _submit(ped, "/staff/lists")
    copied = int(re.search(r"added=(\d+)", ped.url).group(1))  # type: ignore[union-attr]
    assert copied >= 1, ped.url
    january = int(re.search(r"/staff/lists/(\d+)", ped.url).group(1))  # type: ignore[union-attr]
    ped.select_option("#class_name", "3И")
    _submit(ped, f"/staff/lists/{january}/classes")
    assert "done=class" in ped.url and f"added={imported}" in ped.url
    ped.fill("#q", "Imported")
    with ped.expect_navigation():
        ped.click("text=Search pupils")
    assert (
        ped.locator("td span.muted", has_text="On the list").count() == 20
    )  # the first page of the matches, all added
    _check(ped, lang, "journey-list-formed", tmp_path)

    # 3. the head approves it, returns it with a comment, then approves it again and cross-checks it
    head = new_page()
    _sign_in(head, live.url, "school.head")
    head.goto(f"{live.url}/staff/lists/{january}")
    _submit(head, f"/staff/lists/{january}/approve")
    head.fill("#comment", "Check the 3И class")
    _submit(head, f"/staff/lists/{january}/return")
    assert "Check the 3И class" in (head.text_content("main") or "")
    ped.goto(f"{live.url}/staff/lists/{january}")
    assert "The head returned the list" in (ped.text_content("main") or "")
    _submit(head, f"/staff/lists/{january}/approve")
    assert head.text_content("#list-state") == "Approved by the head"
    _submit(head, f"/staff/lists/{january}/check")
    assert head.text_content("#list-state") == "Cross-checked"
    assert head.locator(".tag-confirmed").count() >= 1
    _check(head, lang, "journey-list-checked", tmp_path)

    # the head enrols a terminal with a code from the terminals page; it reports a meal it had no clock for
    head.goto(f"{live.url}/staff/terminals")
    _submit(head, "/staff/terminals/codes")
    code = head.text_content("#enrolment-code")
    key = SigningKey.generate()
    with httpx.Client(base_url=live.url) as http:
        r = http.post(
            "/api/terminal/v1/enrol",
            json={
                "code": code,
                "public_key": key.public.raw.hex(),
                "hostname": "canteen-1",
                "software_version": "1.4",
            },
        )
        assert r.status_code == 200, r.text
        device = Device(r.json()["terminal_id"], school, key, FixedClock(live.clock.now()))
        with live.ctx.session_factory() as session:
            voucher = session.scalar(
                select(Voucher.id).where(Voucher.school_id == school).order_by(Voucher.id)
            )
        meal = device.event(voucher, local("2026-12-08", "08:45:00"), trusted=False)
        assert device.upload(http, device.batch([meal])).status_code == 200
    head.goto(f"{live.url}/staff/terminals")
    assert "canteen-1" in (head.text_content("table") or "")
    head.goto(f"{live.url}/staff/flagged")
    assert head.locator(".card").count() == 1
    _check(head, lang, "journey-flagged", tmp_path)
    _submit(head, f"/staff/flagged/{meal.event_id.hex()}", "accept")
    assert "done=accept" in head.url and head.locator(".card").count() == 0

    # the canteen sees the meal on today's list
    canteen = new_page()
    _sign_in(canteen, live.url, "canteen.staff")
    assert canteen.locator("tbody >> nth=1").locator("tr").count() == 1
    _check(canteen, lang, "journey-served", tmp_path)

    # 4. last month's money steps, each from its role's page: the pedagogue submits the timesheet
    ped.goto(f"{live.url}/staff/timesheet?school={school}&month=2026-11")
    assert ped.text_content("#act-step") == "Waiting for the social pedagogue to submit the timesheet"
    _submit(ped, f"/staff/acts/{school}/steps")
    assert "done=submitted" in ped.url
    assert "Timesheet submitted by the social pedagogue" in (ped.text_content("#step-history") or "")
    _check(ped, lang, "journey-timesheet-submitted", tmp_path)

    # the head signs the act (the step is the sign-off)
    head.goto(f"{live.url}/staff/acts/{school}?month=2026-11")
    assert head.text_content("#act-step") == "Waiting for the head's signature"
    _submit(head, f"/staff/acts/{school}/steps")
    assert head.text_content("#act-step") == "Waiting for the supplier's signature"
    _check(head, lang, "journey-act-signed", tmp_path)

    # the supplier opens the signed act (no pupils' names), downloads the PDF and signs it
    supplier = new_page()
    _sign_in(supplier, live.url, "supplier")
    supplier.goto(f"{live.url}/staff/acts/{school}?month=2026-11")
    assert supplier.text_content("#act-step") == "Waiting for the supplier's signature"
    main = supplier.text_content("main") or ""
    assert not any(name in main for name, _phone, _kids in live.district.parents)
    with supplier.expect_download() as download:
        supplier.click("text=Act as PDF")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    _submit(supplier, f"/staff/acts/{school}/steps")
    assert supplier.text_content("#act-step") == "Waiting for the district's acceptance"
    _check(supplier, lang, "journey-supplier-act", tmp_path)

    # 5. the district finds it in the acts list, accepts it and downloads the month's payment register
    admin.goto(f"{live.url}/staff/acts?month=2026-11&waiting=district_accepted")
    admin.click(f"#acts >> text={D.SCHOOL_NAME}")
    _submit(admin, f"/staff/acts/{school}/steps")
    assert admin.text_content("#act-step") == "Accepted, waiting for the payment register"
    admin.goto(f"{live.url}/staff/register?month=2026-11")
    lines = admin.text_content("#register-lines") or ""
    assert D.SUPPLIER_BIN in lines and D.SUPPLIER_IBAN in lines, lines
    _check(admin, lang, "journey-register", tmp_path)
    with admin.expect_download() as download:
        admin.click("text=Download the register as CSV")
    rows = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("supplier_bin,") and rows[1].startswith(D.SUPPLIER_BIN), rows
    with admin.expect_download() as download:
        admin.click("text=Download the register as JSON")
    body = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert body["format"] == "sm-payment-register/1" and body["lines"][0]["iban"] == D.SUPPLIER_IBAN
    admin.goto(f"{live.url}/staff/acts/{school}?month=2026-11")
    assert admin.text_content("#act-step") == "Sent for payment"
    assert len(admin.locator("#step-history tbody tr").all()) == 6  # every step, audited


def test_a_foreign_schools_head_sees_none_of_it(browser: Any, live: LiveServer) -> None:
    school, lst = live.district.school_id, _list_id(live)
    with live.ctx.session_factory() as session:
        other = School(bin="990000000077", name="Foreign School", region="Almaty", district="Medeu")
        session.add(other)
        session.flush()
        create_admin(
            session, login="foreign.head", password=D.PASSWORD, role=Role.SCHOOL_HEAD, school_ids=(other.id,)
        )
        session.commit()
    page = browser.new_context(locale="en", extra_http_headers={"Accept-Language": "en"}).new_page()
    _sign_in(page, live.url, "foreign.head")
    for path in [
        f"/staff/lists/{lst}",
        f"/staff/lists?school={school}",
        f"/staff/flagged?school={school}",
        f"/staff/terminals?school={school}",
        f"/staff/calendar?school={school}",
        f"/staff/menu?school={school}",
        f"/staff/menu/2026-12-08/1?school={school}",
        f"/staff/acts/{school}?month=2026-11",
        f"/staff/acts/{school}/act.pdf?month=2026-11",
        f"/staff/acts/{school}/timesheet.csv?month=2026-11",
    ]:
        response = page.goto(live.url + path)
        assert response is not None and response.status == 404, path
        assert D.SCHOOL_NAME not in page.content(), path
    for path in ["/staff/acts", "/staff/flagged", "/staff/lists"]:
        page.goto(live.url + path)
        assert D.SCHOOL_NAME not in page.content(), path
    csrf = page.get_attribute('input[name="csrf"]', "value")
    step = {"csrf": csrf, "month": "2026-11", "version": "1", "step": "head_signed"}
    refused = page.request.post(f"{live.url}/staff/acts/{school}/steps", form=step, max_redirects=0)
    assert refused.status == 404  # another school's act: no step, as if it did not exist
    for path in ["/staff/accounts", "/staff/imports", "/staff/dashboard", "/staff/register"]:
        response = page.goto(live.url + path)
        assert response is not None and response.status == 403, path
