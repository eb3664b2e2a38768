"""Notices delivered: Web Push to a local push service on loopback that checks the VAPID signature and
decrypts each payload (RFC 8291 aes128gcm) with the subscription's own keys, the way a browser does;
retries with backoff, expired subscriptions removed; the opt-in daily SMS digest; the in-app list."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from backend.notify.delivery import backoff
from backend.notify.delivery_tables import ParentNoticeRow, PushDeliveryRow, PushSubscriptionRow
from backend.notify.webpush import WebPushSender, application_server_key, vapid_key
from backend.sms.tables import SmsMessage
from backend.web.notice_worker import deliver

from .conftest import MOTHER, Web, csrf_of


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A browser's push subscription: its own P-256 key and auth secret, as PushManager makes them."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return _b64(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        return dict(json.loads(plain))


class PushService:
    """A push service on loopback: answers each endpoint with the status it is told and keeps what came."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                service.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(service.status.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService()
    yield service
    service.close()


def _subscribe(web: Web, client: Any, endpoint: str, browser: Browser) -> None:
    page = client.get("/notifications")
    sub = {"endpoint": endpoint, "keys": {"p256dh": browser.p256dh, "auth": _b64(browser.auth)}}
    r = client.post(
        "/notifications/push",
        data={"subscription": json.dumps(sub)},
        headers={"X-CSRF-Token": csrf_of(page.text)},
    )
    assert r.status_code == 201, r.text


def _check_vapid(web: Web, headers: dict[str, str], endpoint: str) -> None:
    """The Authorization header is a VAPID JWT (RFC 8292) signed by the back end's key, for this origin."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    assert fields["k"] == application_server_key(vapid_key(web.settings.key_dir))
    head, claims, sig = fields["t"].split(".")
    raw = _unb64(sig)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(fields["k"]))
    public.verify(
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        f"{head}.{claims}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    body = json.loads(_unb64(claims))
    assert body["aud"] == endpoint.rsplit("/", 2)[0] and body["sub"] == web.settings.web.vapid_subject


def _agree_in_app(web: Web, client: Any) -> None:
    page = client.get("/consent")
    assert client.post("/consent", data={"csrf": csrf_of(page.text), "answer": "agree"}).status_code == 303


def _sender(web: Web) -> WebPushSender:
    return WebPushSender(vapid_key(web.settings.key_dir), web.settings.web.vapid_subject, timeout=5)


def test_push_reaches_the_browser_encrypted_and_gone_subscriptions_go(
    web: Web, push_service: PushService
) -> None:
    mother = web.client("ru")
    web.sign_in(mother, MOTHER)
    phone, old = Browser(), Browser()
    _subscribe(web, mother, f"{push_service.url}/push/phone", phone)
    _subscribe(web, mother, f"{push_service.url}/push/old", old)
    push_service.status["/push/old"] = 410  # that browser dropped its subscription
    _agree_in_app(web, mother)

    report = deliver(web.ctx.session_factory, _sender(web), now=web.clock.now(), max_attempts=3)
    assert report.collected >= 1 and report.pushed >= 1 and report.gone >= 1
    to_phone = [(h, b) for path, h, b in push_service.received if path == "/push/phone"]
    assert to_phone
    headers, body = to_phone[0]
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    _check_vapid(web, headers, f"{push_service.url}/push/phone")
    message = phone.decrypt(body)
    assert message["title"] == "Вы согласились на питание"  # the page language when subscribed
    assert message["url"] == "/notifications" and message["tag"].startswith("consent:")
    with pytest.raises(http_ece.ECEException):  # another browser's keys cannot read it
        old.decrypt(body)

    with web.ctx.session_factory() as session:
        endpoints = set(session.scalars(select(PushSubscriptionRow.endpoint)))
        outcomes = sorted(session.scalars(select(PushDeliveryRow.outcome)))
    assert endpoints == {f"{push_service.url}/push/phone"}
    assert "sent" in outcomes and "gone" in outcomes
    # a second pass sends nothing again
    before = len(push_service.received)
    deliver(web.ctx.session_factory, _sender(web), now=web.clock.now(), max_attempts=3)
    assert len(push_service.received) == before
    # the in-app list has it, for everyone
    page = mother.get("/notifications")
    assert "Вы согласились на питание" in page.text


def test_a_busy_push_service_is_retried_with_backoff_then_given_up(
    web: Web, push_service: PushService
) -> None:
    mother = web.client("en")
    web.sign_in(mother, MOTHER)
    browser = Browser()
    _subscribe(web, mother, f"{push_service.url}/push/busy", browser)
    push_service.status["/push/busy"] = 503
    _agree_in_app(web, mother)
    start = web.clock.now()
    report = deliver(web.ctx.session_factory, _sender(web), now=start, max_attempts=2)
    assert report.retried == 1 and report.pushed == 0
    with web.ctx.session_factory() as session:
        notice = session.scalars(
            select(ParentNoticeRow).where(ParentNoticeRow.kind == "consent_agreed")
        ).one()
        assert notice.push_done_at is None and notice.push_attempts == 1
        assert notice.next_push_at == start + backoff(1)
    # not due yet: nothing is sent
    count = len(push_service.received)
    deliver(web.ctx.session_factory, _sender(web), now=start + timedelta(seconds=1), max_attempts=2)
    assert len(push_service.received) == count
    # due again and the service is back: delivered and decrypted
    push_service.status["/push/busy"] = 201
    report = deliver(web.ctx.session_factory, _sender(web), now=start + backoff(1), max_attempts=2)
    assert report.pushed == 1
    assert browser.decrypt(push_service.received[-1][2])["title"] == "You agreed to the meals"


def test_daily_sms_digest_only_for_parents_who_opted_in(web: Web) -> None:
    mother = web.client("en")
    web.sign_in(mother, MOTHER)
    page = mother.get("/notifications")
    assert (
        mother.post(
            "/notifications/sms-digest", data={"csrf": csrf_of(page.text), "digest": "on"}
        ).status_code
        == 303
    )
    assert 'id="digest-on" name="digest" value="on" checked' in mother.get("/notifications").text
    _agree_in_app(web, mother)

    def digests() -> list[tuple[str, str]]:
        with web.ctx.session_factory() as session:
            return [
                (m.phone, m.body)
                for m in session.scalars(select(SmsMessage).where(SmsMessage.kind == "digest"))
            ]

    deliver(web.ctx.session_factory, None, now=web.clock.now(), max_attempts=3)
    assert digests() == []  # the day's digest goes out in the evening
    evening = web.clock.now().replace(hour=14, minute=5)  # 19:05 in Almaty
    deliver(web.ctx.session_factory, None, now=evening, max_attempts=3)
    deliver(web.ctx.session_factory, None, now=evening + timedelta(hours=1), max_attempts=3)
    sent = digests()
    assert len(sent) == 1 and sent[0][0] == MOTHER  # once a day, to her only
    body = sent[0][1]
    # her record's SMS language is Kazakh and Russian: both, as the official texts are
    assert "Бүгінгі мектептегі тамақ:" in body and "Вы согласились на питание" in body


def test_a_revoked_voucher_reaches_every_guardian_in_the_list(web: Web) -> None:
    from backend.auth.model import Role
    from backend.auth.testing import make_admin
    from demo import data as D

    from .conftest import BEKOVA

    mother = web.client("en")
    web.sign_in(mother, BEKOVA)
    with web.ctx.session_factory() as session:
        _id, token = make_admin(session, Role.DISTRICT_ADMIN, district=D.DISTRICT, now=web.clock.now())
        session.commit()
    child = re.search(r'href="/child/(\d+)"', mother.get("/children").text)
    assert child
    voucher = re.search(r"/vouchers/(\d+)/", mother.get(f"/child/{child.group(1)}").text)
    assert voucher
    r = mother.post(
        f"/api/admin/v1/vouchers/{voucher.group(1)}/revoke",
        json={"reason": "left the district"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    assert "The voucher was revoked" not in mother.get("/notifications").text  # not before the worker runs
    deliver(web.ctx.session_factory, None, now=web.clock.now(), max_attempts=3)
    with web.ctx.session_factory() as session:
        kinds = sorted(session.scalars(select(ParentNoticeRow.kind)))
    assert kinds == ["consent_declined", "voucher_revoked"]  # the seed's SMS decline, and this
    page = mother.get("/notifications").text
    assert "The voucher was revoked" in page and "А.С.Б. 2А" in page
    # its state in words on the child's page, with what to do next
    child_page = mother.get(f"/child/{child.group(1)}").text
    assert "Revoked" in child_page and "Ask the school's social pedagogue why" in child_page


def test_processes_starting_together_share_one_vapid_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _i: application_server_key(vapid_key(tmp_path)), range(16)))
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["vapid-p256.pem"]  # no temporary file left
    assert (tmp_path / "vapid-p256.pem").stat().st_mode & 0o777 == 0o600
