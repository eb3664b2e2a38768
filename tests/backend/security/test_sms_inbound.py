"""The SMS webhook (issue 10): the provider signs each call (HMAC over timestamp and body, replay window),
every call is answered alike, and help replies are rate-limited per number."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.context import AppContext
from backend.eligibility.model import Category
from backend.sms.tables import SmsMessage
from backend.sms.webhook_auth import sign

URL = "/api/sms/v1/inbound"
SECRET = b"k" * 16 + b"e" * 16 + b"y" * 8


def _signed(body: dict[str, str], ts: int, secret: bytes = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {
        "Content-Type": "application/json",
        "X-SMS-Timestamp": str(ts),
        "X-SMS-Signature": sign(secret, ts, raw),
    }


def _with_secret(ctx: AppContext) -> int:
    object.__setattr__(ctx, "settings", replace(ctx.settings, sms_webhook_secret=SECRET))
    return int(ctx.clock.now().timestamp())


def test_signature_is_required_and_checked(client: TestClient, ctx: AppContext) -> None:
    now = _with_secret(ctx)
    body = {"from": "+77012223344", "text": "3#1"}
    assert client.post(URL, json=body).status_code == 401  # unsigned
    raw, headers = _signed(body, now, secret=b"w" * 40)
    assert client.post(URL, content=raw, headers=headers).json()["reason"] == "WEBHOOK_UNAUTHENTICATED"
    raw, headers = _signed(body, now)
    tampered = raw.replace(b"3#1", b"3#2")
    assert client.post(URL, content=tampered, headers=headers).status_code == 401
    assert client.post(URL, content=raw, headers=headers).status_code == 200


def test_replay_and_stale_timestamps_are_refused(client: TestClient, ctx: AppContext) -> None:
    now = _with_secret(ctx)
    body = {"from": "+77012223344", "text": "3#1"}
    raw, headers = _signed(body, now)
    assert client.post(URL, content=raw, headers=headers).status_code == 200
    again = client.post(URL, content=raw, headers=headers)
    assert (again.status_code, again.json()["reason"]) == (401, "WEBHOOK_SIGNATURE_REPLAYED")
    raw, headers = _signed(body, now - ctx.settings.sms_webhook_window_seconds - 1)
    stale = client.post(URL, content=raw, headers=headers)
    assert (stale.status_code, stale.json()["reason"]) == (401, "WEBHOOK_SIGNATURE_EXPIRED")


def test_answers_do_not_tell_numbers_apart(
    client: TestClient,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
) -> None:
    school = make_school()
    link(make_pupil(school), make_parent(phone="+77012223344"))
    answers = {
        (phone, text): client.post(URL, json={"from": phone, "text": text})
        for phone in ("+77012223344", "+77779998877", "not a phone")
        for text in ("3#1", "hello")
    }
    assert {(r.status_code, r.content) for r in answers.values()} == {(200, b'{"outcome":"received"}')}


def test_help_replies_are_rate_limited_per_number(
    client: TestClient,
    ctx: AppContext,
    make_school: Callable[..., int],
    registered_child: Callable[..., int],
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
) -> None:
    school = make_school()
    checked_list(school, [(registered_child(school, "+77012223344", grade=8), Category.TARGETED_ASSISTANCE)])
    for _ in range(20):
        assert client.post(URL, json={"from": "+77012223344", "text": "what is this?"}).status_code == 200
    with ctx.session_factory() as s:
        helps = s.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.kind == "help"))
        logged = s.scalar(
            select(func.count()).select_from(SmsMessage).where(SmsMessage.note == "HELP_SUPPRESSED")
        )
    assert (helps, logged) == (3, 17)
