"""The district admin's tariffs, re-ask and revoke in a real browser, on the demo district: a new tariff
period is added (and the same first day refused), the September decliner is asked again after the page
said how many SMS would go, and a pupil's voucher is revoked with a reason, the IIN never shown whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.roster.tables import Pupil
from backend.vouchers.tables import Voucher, VoucherEvent
from demo import data as D

from .harness import LiveServer, run_axe, shot

WIDE = {"width": 1280, "height": 900}


def _submit(page: Any, action: str) -> None:
    with page.expect_navigation():
        page.locator(f'form[action="{action}"][method="post"] button[type="submit"]').first.click()


def _check(page: Any, name: str, tmp: Path) -> None:
    violations = run_axe(page)
    assert violations == [], f"{name}: {violations}"
    shot(page, "en", f"console-{name}", tmp)


def test_the_district_admin_adds_a_tariff_re_asks_and_revokes(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    context = browser.new_context(locale="en", extra_http_headers={"Accept-Language": "en"}, viewport=WIDE)
    admin = context.new_page()
    admin.goto(live.url + "/staff")
    admin.fill("#login", "district.admin")
    admin.fill("#password", D.PASSWORD)
    with admin.expect_navigation():
        admin.locator('form[action="/staff/sign-in"] button[type="submit"]').click()

    # a new tariff period for the discounted plan; the same first day again is refused at its field
    admin.click("nav >> text=Tariffs and plans")
    admin.select_option("#plan", "2")
    admin.fill("#valid_from", "2027-02-01")
    admin.fill("#amount", "1 000")
    admin.fill("#state_share", "600,00")
    _submit(admin, "/staff/tariffs")
    assert "done=added" in admin.url
    row = admin.locator("tr", has_text="2027-02-01")
    assert row.count() == 1
    assert [c.strip() for c in row.locator("td").all_text_contents()][3:] == [
        "2027-02-01",
        "open-ended",
        "1000.00",
        "600.00",
        "400.00",
    ]
    _check(admin, "journey-tariff-added", tmp_path)
    admin.select_option("#plan", "2")
    admin.fill("#valid_from", "2027-02-01")
    admin.fill("#amount", "990")
    admin.fill("#state_share", "500")
    _submit(admin, "/staff/tariffs")
    assert "starts on that day already" in (admin.text_content("#valid_from-error") or "")
    _check(admin, "journey-tariff-refused", tmp_path)

    # re-ask the month's decliners: the page says how many SMS before the button
    admin.click("nav >> text=Re-ask consent")
    admin.select_option("#who", "declined")
    with admin.expect_navigation():
        admin.click("form.filters button[type=submit]")
    declined = int(admin.text_content("#declined") or "0")
    assert declined >= 1
    will_get = admin.text_content("#will-get") or ""
    assert f"again: {declined} (one SMS each" in will_get, will_get
    _check(admin, "journey-reask-confirm", tmp_path)
    with admin.expect_navigation():
        admin.click("text=Send the requests again")
    assert f"Parents sent the request again: {declined}." in (admin.text_content("[role=status]") or "")
    assert admin.text_content("#declined") == "0"

    # revoke a pupil's voucher with a reason; the IIN is masked wherever it shows
    with live.ctx.session_factory() as session:
        pupil = session.scalars(
            select(Pupil)
            .join(Voucher, Voucher.pupil_id == Pupil.id)
            .where(Voucher.status.in_(("active", "awaiting_activation")))
        ).first()
        assert pupil is not None
        name, iin, pupil_id = pupil.full_name, pupil.iin, pupil.id
    admin.click("nav >> text=Revoke a voucher")
    admin.fill("#q", name.split()[-1])
    with admin.expect_navigation():
        admin.click("form.filters button[type=submit]")
    row = admin.locator("tr", has_text=name)
    assert "••••••••" + iin[-4:] in (row.text_content() or "") and iin not in admin.content()
    row.locator("input[name=reason]").fill("moved out of the district")
    with admin.expect_navigation():
        row.locator("button", has_text="Revoke").click()
    assert "The parent is being told" in (admin.text_content("[role=status]") or "")
    assert "Revoked" in (admin.locator("tr", has_text=name).text_content() or "")
    _check(admin, "journey-revoked", tmp_path)
    with live.ctx.session_factory() as session:
        v = session.scalars(select(Voucher).where(Voucher.pupil_id == pupil_id)).one()
        last = session.scalars(
            select(VoucherEvent).where(VoucherEvent.voucher_id == v.id).order_by(VoucherEvent.id.desc())
        ).first()
        assert v.status == "revoked" and last is not None and last.reason == "moved out of the district"
    context.close()
