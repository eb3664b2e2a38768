"""Fixtures of the page tests: the app on a migrated SQLite copy with the demo district seeded at a
school day's breakfast, a TestClient that keeps cookies like a browser, and sign-in through the pages
with the code from the SMS outbox."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.adapters.sms_gateways import OutboxGateway
from backend.adapters.state_registry import InMemoryRegistry
from backend.app import create_app
from backend.clock import KZ_TZ, FixedClock
from backend.config import Settings
from backend.context import AppContext
from backend.web_settings import WebSettings
from demo.district import DemoDistrict, seed

BREAKFAST = datetime(2026, 12, 8, 8, 40, 3, tzinfo=KZ_TZ)  # a Tuesday, inside the first slot
MOTHER = "+77011110002"  # three children, consent pending
BEKOVA = "+77011110001"  # one grade-2 child, voucher awaiting activation


@dataclass
class Web:
    ctx: AppContext
    clock: FixedClock
    district: DemoDistrict
    settings: Settings
    app: object
    sms_file: Path

    def client(self, lang: str | None = "en") -> TestClient:
        headers = {"Accept-Language": lang} if lang else {}
        return TestClient(self.app, headers=headers, follow_redirects=False)  # type: ignore[arg-type]

    def sign_in(self, client: TestClient, phone: str) -> None:
        csrf = csrf_of(client.get("/").text)
        assert client.post("/sign-in", data={"csrf": csrf, "phone": phone}).status_code == 303
        page = client.get("/sign-in/code")
        done = client.post("/sign-in/code", data={"csrf": csrf_of(page.text), "code": self.otp(phone)})
        assert done.status_code == 303 and done.headers["location"] == "/children", done.text[:300]

    def otp(self, phone: str) -> str:
        """The code of the last sign-in SMS to `phone` as the parent reads it: where the gateway delivered
        it (the outbox table keeps codes sealed, docs/security.md)."""
        path = self.sms_file
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        codes = [
            found.group(1)
            for msg in map(json.loads, lines)
            if msg["phone"] == phone and (found := re.search(r"\b(\d{6})\b", msg["body"]))
        ]
        assert codes, f"no sign-in SMS to {phone}"
        return codes[-1]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html[:300]
    return found.group(1)


@pytest.fixture
def web(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    settings = Settings(
        database_url=sqlite_url,
        key_dir=tmp_path / "keys",
        web=WebSettings(cookie_secure=False),
    )
    clock = FixedClock(BREAKFAST)
    registry = InMemoryRegistry()
    sms_file = tmp_path / "sms.jsonl"
    app = create_app(settings, clock=clock, sms=OutboxGateway(sms_file), registry=registry)
    ctx: AppContext = app.state.ctx
    district = seed(ctx.session_factory, settings, registry, clock.now())
    yield Web(ctx, clock, district, settings, app, sms_file)
    ctx.engine.dispose()
