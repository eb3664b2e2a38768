"""The district admin's tariffs, re-ask and revoke pages on the demo district: each renders in kk, ru and
en, and each form goes through the API's service (its refusals shown with their words, its effects seen
through the API's reads)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.auth.services import admin_principal
from backend.auth.tables import Admin
from backend.calendar.model import Tariff
from backend.calendar.services import load_tariffs
from backend.consent.services import handle_reply
from backend.consent.tables import ConsentRequest
from backend.imports import jobs
from backend.imports.model import ImportKind
from backend.imports.tables import ImportJob
from backend.roster.tables import Guardianship, Parent, Pupil
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher, VoucherEvent
from backend.web.notice_worker import deliver
from demo import data as D
from tests.backend.web.conftest import BEKOVA, MOTHER, Web, csrf_of, web  # noqa: F401  (the fixture)


def _admin(web: Web, lang: str = "en") -> TestClient:  # noqa: F811
    client = web.client(lang)
    csrf = csrf_of(client.get("/staff").text)
    r = client.post("/staff/sign-in", data={"csrf": csrf, "login": "district.admin", "password": D.PASSWORD})
    assert r.status_code == 303, r.text[:300]
    return client


def _cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]


@pytest.mark.parametrize(
    ("lang", "title"),
    [("kk", "Тарифтер мен жоспарлар"), ("ru", "Тарифы и планы"), ("en", "Tariffs and plans")],
)
def test_the_tariffs_page_renders_in_each_language(web: Web, lang: str, title: str) -> None:  # noqa: F811
    page = _admin(web, lang).get("/staff/tariffs")
    assert page.status_code == 200 and f"<h1>{title}</h1>" in page.text


def test_a_new_tariff_period_ends_the_one_before_and_bad_ones_are_refused(web: Web) -> None:  # noqa: F811
    client = _admin(web)
    school = web.district.school_id
    page = client.get(f"/staff/tariffs?school={school}")
    csrf = csrf_of(page.text)
    good = {"csrf": csrf, "school": str(school), "plan": "2", "slot": "1", "valid_from": "2027-01-11"}
    r = client.post("/staff/tariffs", data={**good, "amount": "1 000,50", "state_share": "600"})
    assert r.status_code == 303 and r.headers["location"] == f"/staff/tariffs?school={school}&done=added"
    rows = [c for c in _cells(client.get(f"/staff/tariffs?school={school}").text) if len(c) == 8]
    own = [c for c in rows if c[0] != "Every school (default)"]
    assert own == [[own[0][0], "Discounted", "1", "2027-01-11", "open-ended", "1000.50", "600.00", "400.50"]]
    with web.ctx.session_factory() as session:  # what the API's read (and billing) sees
        assert Tariff(school, 2, 1, date(2027, 1, 11), 100_050, 60_000) in load_tariffs(session, [school])
    for data, reason_words in [
        ({**good, "amount": "0", "state_share": "0"}, "A meal&#39;s price is more than zero."),
        ({**good, "amount": "12.345", "state_share": "1"}, "Enter an amount in tenge"),
        ({**good, "amount": "900", "state_share": "950"}, "between zero and the price"),
        ({**good, "amount": "900", "state_share": "500"}, "starts on that day already"),
    ]:
        r = client.post("/staff/tariffs", data=data)
        assert r.status_code == 400 and reason_words in r.text, (data, r.text[-2000:])


def _requests(web: Web, list_id: int) -> dict[int, tuple[str, int, str]]:  # noqa: F811
    with web.ctx.session_factory() as session:
        rows = session.scalars(select(ConsentRequest).where(ConsentRequest.list_id == list_id))
        return {r.parent_id: (r.status, r.attempt, r.phone) for r in rows}


def test_the_admin_sees_how_many_get_an_sms_then_re_asks_the_decliners(web: Web) -> None:  # noqa: F811
    school = web.district.school_id
    with UnitOfWork(web.ctx.session_factory) as uow:
        handle_reply(uow, phone=MOTHER, text="3#2", settings=web.settings, now=web.clock.now())
        list_id = uow.session.scalars(
            select(ConsentRequest.list_id).where(ConsentRequest.phone == MOTHER)
        ).one()
        last_sms = uow.session.scalar(select(func.max(SmsMessage.id))) or 0
    before = _requests(web, list_id)
    declined = {p: v for p, v in before.items() if v[0] == "declined"}
    assert len(declined) == 2  # the demo's decliner and the mother who just declined
    client = _admin(web)
    page = client.get(f"/staff/reask?school={school}&list={list_id}&who=declined")
    assert page.status_code == 200
    assert "Parents who will get the request SMS again: 2 " in page.text
    assert f'action="/staff/reask/{list_id}"' in page.text
    r = client.post(f"/staff/reask/{list_id}", data={"csrf": csrf_of(page.text), "who": "declined"})
    assert r.status_code == 303 and r.headers["location"].endswith("&asked=2")
    after = _requests(web, list_id)
    assert {p: after[p] for p in declined} == {
        p: ("pending", a + 1, ph) for p, (_, a, ph) in declined.items()
    }
    assert {p: v for p, v in after.items() if p not in declined} == {
        p: v for p, v in before.items() if p not in declined
    }
    with web.ctx.session_factory() as session:
        new = session.scalars(select(SmsMessage).where(SmsMessage.id > last_sms)).all()
    assert sorted((m.phone, m.kind) for m in new if m.direction == "out") == sorted(
        (ph, "request") for _, _, ph in declined.values()
    )
    done = client.get(r.headers["location"])
    assert "Parents sent the request again: 2." in done.text
    assert "Parents who will get the request SMS again: 0 " in done.text
    assert client.post("/staff/reask/999999", data={"csrf": csrf_of(page.text)}).status_code == 404


@pytest.mark.parametrize(
    ("lang", "title"),
    [("kk", "Келісімді қайта сұрау"), ("ru", "Повторный запрос согласия"), ("en", "Re-ask consent")],
)
def test_the_reask_page_renders_in_each_language(web: Web, lang: str, title: str) -> None:  # noqa: F811
    page = _admin(web, lang).get("/staff/reask")
    assert page.status_code == 200 and f"<h1>{title}</h1>" in page.text


def test_the_admin_finds_a_pupil_by_name_sees_no_full_iin_and_revokes_the_voucher(web: Web) -> None:  # noqa: F811
    with web.ctx.session_factory() as session:
        pupil = session.execute(
            select(Pupil)
            .join(Guardianship, Guardianship.pupil_id == Pupil.id)
            .join(Parent, Parent.id == Guardianship.parent_id)
            .where(Parent.phone == BEKOVA)
        ).scalar_one()
        voucher = session.scalars(select(Voucher).where(Voucher.pupil_id == pupil.id)).one()
        name, iin, voucher_id, school = pupil.full_name, pupil.iin, voucher.id, voucher.school_id
        every_iin = list(session.scalars(select(Pupil.iin)))
    client = _admin(web)
    listing = client.get(f"/staff/revoke?school={school}")
    assert listing.status_code == 200 and not any(i in listing.text for i in every_iin)
    found = client.get("/staff/revoke", params={"school": school, "q": name.split()[0]})
    assert name in found.text and "••••••••" + iin[-4:] in found.text and iin not in found.text
    by_tail = client.get("/staff/revoke", params={"school": school, "q": iin[-4:]})
    assert name in by_tail.text and iin not in by_tail.text  # the digits the page shows find the pupil
    action = f"/staff/revoke/{voucher_id}?" + urlencode({"school": school, "q": name.split()[0]})
    assert action.replace("&", "&amp;") in found.text
    r = client.post(action, data={"csrf": csrf_of(found.text), "reason": "  "})
    assert r.status_code == 400 and "Say why the voucher is revoked." in r.text
    r = client.post(action, data={"csrf": csrf_of(found.text), "reason": "left the district"})
    assert r.status_code == 303 and "done=revoked" in r.headers["location"]
    assert "The voucher is revoked. The parent is being told." in client.get(r.headers["location"]).text
    with web.ctx.session_factory() as session:
        v = session.get(Voucher, voucher_id)
        assert v is not None and v.status == "revoked"
        event = session.scalars(select(VoucherEvent).where(VoucherEvent.voucher_id == voucher_id)).all()[-1]
        assert (event.new_status, event.reason, event.actor.startswith("admin:")) == (
            "revoked",
            "left the district",
            True,
        )
    mother = web.client("en")
    web.sign_in(mother, BEKOVA)
    deliver(web.ctx.session_factory, None, now=web.clock.now(), max_attempts=3)  # the worker's pass
    assert "The voucher was revoked" in mother.get("/notifications").text
    again = client.post(action, data={"csrf": csrf_of(found.text), "reason": "twice"})
    assert again.status_code == 400  # a revoked voucher stays revoked (TRANSITION_NOT_ALLOWED)


@pytest.mark.parametrize(
    ("lang", "title"),
    [("kk", "Ваучерді кері қайтарып алу"), ("ru", "Отозвать ваучер"), ("en", "Revoke a voucher")],
)
def test_the_revoke_page_renders_in_each_language(web: Web, lang: str, title: str) -> None:  # noqa: F811
    page = _admin(web, lang).get("/staff/revoke")
    assert page.status_code == 200 and f"<h1>{title}</h1>" in page.text


def test_the_import_page_names_the_phase_and_restarts_an_interrupted_job(web: Web) -> None:  # noqa: F811
    client = _admin(web)
    with web.ctx.session_factory() as session:
        admin = session.scalars(select(Admin).where(Admin.login == "district.admin")).one()
        me = admin_principal(session, admin)
    data = b"bin,name,region,district\n"
    with UnitOfWork(web.ctx.session_factory) as uow:
        running = jobs.submit(uow, me, ImportKind.SCHOOLS, "schools.csv", data, web.clock.now())
        stale = jobs.submit(uow, me, ImportKind.SCHOOLS, "old.csv", data, web.clock.now())
        for job_id, phase, done, total, beat in (
            (running, "saving", 1200, 3000, web.clock.now()),
            (stale, "checking", 400, 900, web.clock.now() - timedelta(hours=1)),
        ):
            row = uow.session.get(ImportJob, job_id)
            assert row is not None
            row.status, row.phase, row.done, row.total, row.heartbeat_at = "running", phase, done, total, beat
        uow.commit()
    page = client.get(f"/staff/imports/{running}").text
    assert 'aria-current="step">Step 3 of 3: Saving the rows' in page
    assert "1200 of 3000 rows saved" in page and 'value="64"' in page  # 10 + 30 + 60 × 1200/3000
    assert "Now: Saving the rows (64 % of the whole import)" in page
    old = client.get(f"/staff/imports/{stale}").text
    assert "The import was interrupted" in old and "Reason code: IMPORT_INTERRUPTED" in old
    assert f'action="/staff/imports/{stale}/restart"' in old and 'http-equiv="refresh"' not in old
    assert f'action="/staff/imports/{running}/restart"' not in page
    r = client.post(f"/staff/imports/{running}/restart", data={"csrf": csrf_of(page)})
    assert r.status_code == 409  # a job still reporting is not started twice
    r = client.post(f"/staff/imports/{stale}/restart", data={"csrf": csrf_of(old)})
    assert r.status_code == 303 and r.headers["location"] == f"/staff/imports/{stale}"
    done = client.get(f"/staff/imports/{stale}").text  # the restart ran after the answer
    assert "Finished" in done and "All three steps are done." in done and 'value="100"' in done


@pytest.mark.parametrize(
    ("lang", "step"), [("kk", "Жолдарды сақтау"), ("ru", "Сохранение строк"), ("en", "Saving the rows")]
)
def test_the_import_page_names_its_phases_in_each_language(web: Web, lang: str, step: str) -> None:  # noqa: F811
    client = _admin(web, lang)
    csrf = csrf_of(client.get("/staff/imports").text)
    files = {"file": ("schools.csv", b"bin,name,region,district\n", "text/csv")}
    r = client.post("/staff/imports", data={"csrf": csrf, "kind": "schools"}, files=files)
    assert r.status_code == 303
    assert step in client.get(r.headers["location"]).text
