"""SMS gateways (outbox file, HTTP via httpx.MockTransport), the outbox dispatcher and phone numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.adapters.sms_gateways import HttpSmsGateway, OutboxGateway, SmsSendError
from backend.auth.model import Role
from backend.context import AppContext
from backend.sms.outbox import dispatch_pending, queue_sms
from backend.sms.phones import normalize_phone
from backend.sms.tables import SmsMessage

from .conftest import CAT


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("+7 701 234 56 78", "+77012345678"),
        ("87012345678", "+77012345678"),
        ("77012345678", "+77012345678"),
        ("7012345678", "+77012345678"),
        ("8(701)234-56-78", "+77012345678"),
        ("+1 701 234 56 78", None),
        ("12345", None),
        ("+7701234567a", None),
    ],
)
def test_normalize_phone(raw: str, canon: str | None) -> None:
    assert normalize_phone(raw) == canon


def test_http_gateway_posts_json_with_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "prov-42"})

    gw = HttpSmsGateway(
        "https://sms.example/send", "secret", client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    assert gw.send(7, "+77010000000", "Сәлем") == "prov-42"
    req = seen[0]
    assert req.headers["Authorization"] == "Bearer secret" and req.headers["Idempotency-Key"] == "7"
    assert json.loads(req.content) == {"id": "7", "to": "+77010000000", "text": "Сәлем"}


@pytest.mark.parametrize(
    "response",
    [httpx.Response(500, text="down"), httpx.Response(401, text="bad token")],
)
def test_http_gateway_errors(response: httpx.Response) -> None:
    gw = HttpSmsGateway(
        "https://sms.example/send",
        "t",
        client=httpx.Client(transport=httpx.MockTransport(lambda _r: response)),
    )
    with pytest.raises(SmsSendError):
        gw.send(1, "+77010000000", "x")


def test_http_gateway_unreachable() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gw = HttpSmsGateway(
        "https://sms.example/send", "t", client=httpx.Client(transport=httpx.MockTransport(boom))
    )
    with pytest.raises(SmsSendError, match="unreachable"):
        gw.send(1, "+77010000000", "x")


def test_outbox_file(tmp_path: Path) -> None:
    gw = OutboxGateway(tmp_path / "o" / "outbox.jsonl")
    assert gw.send(3, "+77010000000", "Құрметті") == "outbox-3"
    line = json.loads((tmp_path / "o" / "outbox.jsonl").read_text(encoding="utf-8"))
    assert line == {"id": 3, "phone": "+77010000000", "body": "Құрметті"}


def test_dispatch_retries_failed_and_never_resends(ctx: AppContext) -> None:
    calls: list[int] = []
    fail = {"on": True}

    class Flaky:
        def send(self, message_id: int, phone: str, body: str) -> str:
            calls.append(message_id)
            if fail["on"]:
                raise SmsSendError("provider down")
            return f"p{message_id}"

    with ctx.session_factory() as s, s.begin():
        queue_sms(s, phone="+77010000000", body="a", kind="request", now=ctx.clock.now())
    assert dispatch_pending(ctx.session_factory, Flaky(), ctx.clock) == 0
    with ctx.session_factory() as s:
        m = s.scalars(select(SmsMessage)).one()
        assert (m.status, m.note) == ("queued", "provider down")
    fail["on"] = False
    assert dispatch_pending(ctx.session_factory, Flaky(), ctx.clock) == 1
    assert dispatch_pending(ctx.session_factory, Flaky(), ctx.clock) == 0
    assert len(calls) == 2
    with ctx.session_factory() as s:
        m = s.scalars(select(SmsMessage)).one()
        assert (m.status, m.provider_id) == ("sent", f"p{m.id}")


def test_admin_outbox_view(
    client: TestClient,
    ctx: AppContext,
    admin_token: Callable[..., tuple[int, dict[str, str]]],
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    make_school: Callable[..., int],
    registered_child: Callable[..., int],
) -> None:
    school = make_school()
    pupil = registered_child(school, "+77016660000", grade=9)
    checked_list(school, [(pupil, CAT)])
    _, district = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    _, other = admin_token(Role.DISTRICT_ADMIN, (), "Bostandyk")
    _, head = admin_token(Role.SCHOOL_HEAD, (school,))
    got = client.get("/api/admin/v1/sms/outbox", headers=district).json()
    assert [(m["phone"], m["kind"], m["status"]) for m in got] == [("+77016660000", "request", "sent")]
    assert client.get("/api/admin/v1/sms/outbox", headers=other).json() == []
    assert client.get("/api/admin/v1/sms/outbox", headers=head).status_code == 403
    # the development adapter also wrote it to the file
    assert ctx.settings.sms_outbox_file is not None
    assert "+77016660000" in ctx.settings.sms_outbox_file.read_text(encoding="utf-8")


def test_dispatch_holds_no_transaction_while_sending_and_recovers_stale_claims(ctx: AppContext) -> None:
    from datetime import timedelta

    from backend.clock import FixedClock

    seen_status: list[str] = []

    class Inspecting:
        """While the provider 'answers', another writer must get through (no lock held)."""

        def send(self, message_id: int, phone: str, body: str) -> str:
            with ctx.session_factory() as s, s.begin():
                m = s.get(SmsMessage, message_id)
                assert m is not None
                seen_status.append(m.status)
                m.note = "written meanwhile"  # a write while the dispatcher waits for the provider
            return "ok"

    with ctx.session_factory() as s, s.begin():
        queue_sms(s, phone="+77010000000", body="a", kind="request", now=ctx.clock.now())
    assert dispatch_pending(ctx.session_factory, Inspecting(), ctx.clock) == 1
    assert seen_status == ["sending"]

    class Crashing:
        def send(self, message_id: int, phone: str, body: str) -> str:
            raise KeyboardInterrupt  # the dispatcher process dies mid-send

    with ctx.session_factory() as s, s.begin():
        queue_sms(s, phone="+77010000001", body="b", kind="request", now=ctx.clock.now())
    with pytest.raises(KeyboardInterrupt):
        dispatch_pending(ctx.session_factory, Crashing(), ctx.clock)
    ok = OutboxGateway(None)
    assert dispatch_pending(ctx.session_factory, ok, ctx.clock) == 0  # claimed moments ago: left alone
    assert isinstance(ctx.clock, FixedClock)
    ctx.clock.advance(timedelta(minutes=11))
    assert dispatch_pending(ctx.session_factory, ok, ctx.clock) == 1
    with ctx.session_factory() as s:
        assert s.scalars(select(SmsMessage.status).where(SmsMessage.body == "b")).one() == "sent"
