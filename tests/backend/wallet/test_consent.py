"""SMS consent: one request per parent, recipient priority, NO_PHONE / UNLINKED, replies, timers, re-ask."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.clock import FixedClock
from backend.config import Settings
from backend.consent import texts
from backend.consent.model import Guardian, IssueReason, ReplyKind, choose_recipient, parse_reply
from backend.consent.tables import ConsentIssue, ConsentRequest
from backend.context import AppContext
from backend.sms.tables import SmsMessage
from backend.vouchers.tables import Voucher

from .conftest import CAT, Staff

Sms = Callable[[], list[tuple[str, str, str]]]


def test_recipient_priority() -> None:
    mother, father, guardian = (
        Guardian(3, "mother", "+1"),
        Guardian(2, "father", "+2"),
        Guardian(1, "guardian", "+3"),
    )
    assert choose_recipient([guardian, father, mother]) == mother
    assert choose_recipient([guardian, father]) == father
    assert choose_recipient([Guardian(4, "trustee", "+4")]) == Guardian(4, "trustee", "+4")
    # the mother has no number on record: the father is asked
    assert choose_recipient([Guardian(3, "mother", None), father]) == father
    assert choose_recipient([Guardian(3, "mother", None)]) is IssueReason.NO_PHONE
    assert choose_recipient([]) is IssueReason.UNLINKED


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("3#1", "agree"),
        (" 3 # 1\n", "agree"),
        ("3#2", "decline"),
        ("\t3#2 ", "decline"),
        ("31", "other"),
        ("да", "other"),
        ("3#1 3#2", "other"),
        ("", "other"),
    ],
)
def test_reply_parsing(text: str, kind: str) -> None:
    assert parse_reply(text, agree="3#1", decline="3#2") == ReplyKind(kind)


def test_reply_codes_are_configuration() -> None:
    assert parse_reply("2*1", agree="2*1", decline="2*5") is ReplyKind.AGREE
    assert parse_reply("3#1", agree="2*1", decline="2*5") is ReplyKind.OTHER


def test_official_texts_verbatim() -> None:
    kk = texts.request_text(
        "kk", parent="Асанова Айгүл", children=["Асанов Ерлан"], agree="3#1", decline="3#2"
    )
    assert kk.startswith("Құрметті Асанова Айгүл!")
    assert (
        "Тегін тамақтануды алу үшін мәтінмен SMS жіберіңіз: 3#1. Егер Сіз келіспесеңіз, 3#2 енгізіңіз" in kk
    )
    assert "Call-орталыққа хабарласа аласыз. Қоңырау шалу тегін." in kk and "Уважаем" not in kk
    both = texts.request_text("kk+ru", parent="A", children=["B"], agree="3#1", decline="3#2")
    assert both.index("Құрметті") < both.index("Уважаемый")
    assert texts.declined_text("kk") == "Сіз қызметтен бас тарттыңыз."
    agreed = texts.agreed_text("kk", link="https://egovmobile.page.link/socwallet")
    assert agreed.startswith("Тегін тамақтану туралы келісіміңіз оң өңделді.")
    assert "https://egovmobile.page.link/socwallet" in agreed


def test_one_sms_per_parent_for_three_children(
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    registered: Callable[..., None],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    sent_sms: Sms,
) -> None:
    school = make_school()
    mother = make_parent(phone="+77010000001", full_name="Асанова Айгүл", language="kk")
    father = make_parent(phone="+77010000002")
    kids = [make_pupil(school, grade=g, full_name=f"Асанов Бала{g}") for g in (5, 7, 9)]
    for k in kids:
        link(k, father, "father")
        link(k, mother, "mother")
        registered(k)
    _, summary = checked_list(school, [(k, CAT) for k in kids])
    assert summary["consent_requests"] == 1
    out = sent_sms()
    assert [(p, kind) for p, kind, _ in out] == [("+77010000001", "request")]
    body = out[0][2]
    assert all(f"Асанов Бала{g}" in body for g in (5, 7, 9)) and "Уважаем" not in body


def test_no_phone_and_unlinked(
    client: TestClient,
    ctx: AppContext,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    registered: Callable[..., None],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    staff: Callable[..., Staff],
    sent_sms: Sms,
) -> None:
    school = make_school()
    no_phone, unlinked = make_pupil(school, grade=6), make_pupil(school, grade=6)
    link(no_phone, make_parent(phone=None), "mother")
    registered(no_phone)
    registered(unlinked)
    _, summary = checked_list(school, [(no_phone, CAT), (unlinked, CAT)])
    assert summary["consent_requests"] == 0
    assert summary["consent_issues"] == {"NO_PHONE": 1, "UNLINKED": 1}
    assert sent_sms() == []
    got = client.get("/api/admin/v1/consent/followups?reason=UNLINKED", headers=staff(school).district).json()
    assert [(f["pupil_id"], f["reason"]) for f in got] == [(unlinked, "UNLINKED")]
    other = staff(make_school("Bostandyk"), district="Bostandyk")
    assert client.get("/api/admin/v1/consent/followups", headers=other.district).json() == []


@pytest.fixture
def one_request(
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    make_school: Callable[..., int],
    registered_child: Callable[..., int],
) -> tuple[int, int, int]:
    """(school, pupil, list id): one pupil whose mother (+77012223344) was sent a consent request."""
    school = make_school()
    pupil = registered_child(school, "+77012223344", grade=8)
    list_id, _ = checked_list(school, [(pupil, CAT)])
    return school, pupil, list_id


def test_agree_forms_voucher_and_answers(
    client: TestClient, ctx: AppContext, one_request: tuple[int, int, int], sent_sms: Sms
) -> None:
    _, pupil, _ = one_request
    assert _reply(client, ctx, "8 701 222 33 44", " 3 # 1 ") == "AGREED"
    kinds = [k for _, k, _ in sent_sms()]
    assert kinds == ["request", "agreed"]
    assert "https://egovmobile.page.link/socwallet" in sent_sms()[-1][2]
    with ctx.session_factory() as s:
        v = s.scalars(select(Voucher).where(Voucher.pupil_id == pupil)).one()
        assert v.status == "awaiting_activation"
    # a second answer changes nothing
    assert _reply(client, ctx, "+77012223344", "3#2") == "NO_PENDING_REQUEST"
    assert [k for _, k, _ in sent_sms()] == ["request", "agreed"]


def test_decline_and_reask(
    client: TestClient,
    ctx: AppContext,
    one_request: tuple[int, int, int],
    staff: Callable[..., Staff],
    make_school: Callable[..., int],
    sent_sms: Sms,
) -> None:
    school, pupil, list_id = one_request
    assert _reply(client, ctx, "+77012223344", "3#2") == "DECLINED"
    assert sent_sms()[-1][1:] == ("declined", texts.declined_text("kk+ru"))
    with ctx.session_factory() as s:
        assert s.scalar(select(Voucher.id).where(Voucher.pupil_id == pupil)) is None
    s_ = staff(school)
    reqs = client.get(f"/api/admin/v1/eligibility-lists/{list_id}/consent-requests", headers=s_.head).json()
    assert [r["status"] for r in reqs] == ["declined"]
    url = f"/api/admin/v1/consent/requests/{reqs[0]['id']}/reask"
    assert client.post(url, headers=s_.head).status_code == 403  # district admin only
    r = client.post(url, headers=s_.district)
    assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["attempt"] == 2
    assert client.post(url, headers=s_.district).json()["reason"] == "CONSENT_NOT_DECIDED"
    assert [k for _, k, _ in sent_sms()] == ["request", "declined", "request"]
    assert _reply(client, ctx, "+77012223344", "3#1") == "AGREED"
    with ctx.session_factory() as s:
        assert s.scalar(select(Voucher.status).where(Voucher.pupil_id == pupil)) == "awaiting_activation"
    foreign = staff(make_school("Bostandyk"), district="Bostandyk")
    assert client.post(url, headers=foreign.district).status_code == 404


def test_other_text_gets_help_and_unknown_number_is_ignored(
    client: TestClient, ctx: AppContext, one_request: tuple[int, int, int], sent_sms: Sms
) -> None:
    assert _reply(client, ctx, "+77012223344", "yes please") == "HELP_SENT"
    assert sent_sms()[-1][1] == "help" and "3#1" in sent_sms()[-1][2]
    assert _reply(client, ctx, "+77779998877", "3#1") == "UNKNOWN_NUMBER"
    assert [k for _, k, _ in sent_sms()] == ["request", "help"]
    with ctx.session_factory() as s:
        req = s.scalars(select(ConsentRequest)).one()
        assert req.status == "pending"
        logged = s.scalars(
            select(SmsMessage).where(SmsMessage.direction == "in").order_by(SmsMessage.id)
        ).all()
        assert [(m.status, m.note) for m in logged] == [
            ("received", "HELP_SENT"),
            ("ignored", "UNKNOWN_NUMBER"),
        ]


def test_webhook_token(client: TestClient, ctx: AppContext) -> None:
    object.__setattr__(ctx, "settings", Settings(**{**_fields(ctx.settings), "sms_webhook_token": "t0k"}))
    r = client.post("/api/sms/v1/inbound", json={"from": "+77012223344", "text": "3#1"})
    assert r.status_code == 401
    r = client.post(
        "/api/sms/v1/inbound", json={"from": "+77012223344", "text": "3#1"}, headers={"X-SMS-Token": "t0k"}
    )
    assert r.status_code == 200


def _reply(client: TestClient, ctx: AppContext, phone: str, text: str) -> str | None:
    """Send a reply through the webhook; what it did is in the inbound log (the answer never tells)."""
    r = client.post("/api/sms/v1/inbound", json={"from": phone, "text": text})
    assert r.status_code == 200 and r.json() == {"outcome": "received"}
    with ctx.session_factory() as s:
        return s.scalars(
            select(SmsMessage.note).where(SmsMessage.direction == "in").order_by(SmsMessage.id.desc())
        ).first()


def _fields(s: Settings) -> dict[str, Any]:
    return {f: getattr(s, f) for f in s.__dataclass_fields__}


def test_timeline_reminder_then_expiry(
    client: TestClient,
    ctx: AppContext,
    clock: FixedClock,
    one_request: tuple[int, int, int],
    run_timers: Callable[[], dict[str, int]],
    sent_sms: Sms,
) -> None:
    clock.advance(timedelta(days=3) - timedelta(minutes=1))
    run_timers()
    assert [k for _, k, _ in sent_sms()] == ["request"]
    clock.advance(timedelta(minutes=1))
    run_timers()
    run_timers()  # running again sends nothing more
    assert [k for _, k, _ in sent_sms()] == ["request", "reminder"]
    clock.advance(timedelta(days=3))
    run_timers()
    with ctx.session_factory() as s:
        req = s.scalars(select(ConsentRequest)).one()
        assert req.status == "expired"
    assert [k for _, k, _ in sent_sms()] == ["request", "reminder"]  # one reminder only
    # a reply after closing changes nothing but is answered: closed, and how to be asked again
    assert _reply(client, ctx, "+77012223344", "3#1") == "NO_PENDING_REQUEST"
    assert [k for _, k, _ in sent_sms()] == ["request", "reminder", "closed"]


def test_answer_cancels_timers(
    client: TestClient,
    clock: FixedClock,
    one_request: tuple[int, int, int],
    run_timers: Callable[[], dict[str, int]],
    sent_sms: Sms,
) -> None:
    clock.advance(timedelta(days=1))
    client.post("/api/sms/v1/inbound", json={"from": "+77012223344", "text": "3#1"})
    clock.advance(timedelta(days=10))
    run_timers()
    assert [k for _, k, _ in sent_sms()] == ["request", "agreed"]


def test_unlinked_pupil_resumes_when_link_arrives(
    ctx: AppContext,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    registered: Callable[..., None],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    sent_sms: Sms,
) -> None:
    from backend.consent.services import resume_unlinked

    school = make_school()
    pupil = make_pupil(school, grade=10)
    registered(pupil)
    checked_list(school, [(pupil, CAT)])
    link(pupil, make_parent(phone="+77015556677"), "trustee")
    with ctx.session_factory() as s, s.begin():
        assert resume_unlinked(s, [pupil], settings=ctx.settings, now=ctx.clock.now()) == 1
    with ctx.session_factory() as s:
        issue = s.scalars(select(ConsentIssue)).one()
        assert issue.resolved_at is not None
    assert [(p, k) for p, k, _ in sent_sms()] == [("+77015556677", "request")]


def test_sibling_linked_later_joins_the_parents_request(
    ctx: AppContext,
    client: TestClient,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    registered: Callable[..., None],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    sent_sms: Sms,
) -> None:
    from backend.consent.services import resume_unlinked

    school = make_school()
    parent = make_parent(phone="+77018889900")
    first, second = make_pupil(school, grade=5), make_pupil(school, grade=6)
    link(first, parent)
    registered(first)
    registered(second)
    checked_list(school, [(first, CAT), (second, CAT)])
    client.post("/api/sms/v1/inbound", json={"from": "+77018889900", "text": "3#1"})
    link(second, parent)
    with ctx.session_factory() as s, s.begin():
        resume_unlinked(s, [second], settings=ctx.settings, now=ctx.clock.now())
    with ctx.session_factory() as s:
        statuses = s.scalars(select(Voucher.status).where(Voucher.pupil_id.in_([first, second]))).all()
    assert len(statuses) == 2
    assert [k for _, k, _ in sent_sms()] == ["request", "agreed"]  # no second request to the same parent
