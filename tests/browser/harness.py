"""Browser-test harness shared by every web suite (parent pages now, the staff console next):
the real server on a loopback port, Debian's Chromium through Playwright, axe-core, page weights,
screenshots, and a simulated canteen terminal enrolled against the live server.

Screenshots go to a temporary folder; with SM_UPDATE_SCREENSHOTS=1 they replace docs/ui/<lang>/*.png
and the page weights in docs/ui/weights.json.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from backend.adapters.sms_gateways import OutboxGateway
from backend.adapters.state_registry import InMemoryRegistry
from backend.app import create_app
from backend.auth.model import Role
from backend.auth.testing import make_admin
from backend.clock import KZ_TZ
from backend.config import Settings
from backend.context import AppContext
from backend.db import init_schema
from backend.web_settings import WebSettings
from demo.district import DemoDistrict, seed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).with_name("assets") / "axe.min.js"
DOCS_UI = Path(__file__).resolve().parents[2] / "docs" / "ui"
PHONE = {"width": 390, "height": 844}  # a common small phone, CSS pixels


class ShiftedClock:
    """Real time moved to a chosen instant: it keeps running, so the pass (which corrects the phone's
    clock by the server's offset) and the server agree; `set` jumps it."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, instant: datetime) -> None:
        self._shift = instant.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._shift


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    clock: ShiftedClock
    district: DemoDistrict
    tmp: Path
    server: uvicorn.Server
    thread: threading.Thread
    weights: dict[str, int] = field(default_factory=dict)

    @property
    def ctx(self) -> AppContext:
        ctx = self.app.state.ctx
        assert isinstance(ctx, AppContext)
        return ctx

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.ctx.engine.dispose()

    def staff_token(self, role: Role) -> str:
        with self.ctx.session_factory() as session:
            _id, token = make_admin(session, role, (self.district.school_id,), now=self.clock.now())
            session.commit()
        return token


def start_server(tmp: Path, start: datetime, **web: Any) -> LiveServer:
    """Migrates a fresh SQLite file, seeds the demo district at `start` and serves it with uvicorn."""
    url = f"sqlite:///{tmp / 'backend.db'}"
    init_schema(url)
    settings = Settings(
        database_url=url,
        key_dir=tmp / "keys",
        sms_outbox_file=tmp / "sms.jsonl",
        web=WebSettings(cookie_secure=False, **web),
    )
    clock = ShiftedClock(start)
    registry = InMemoryRegistry()
    app = create_app(settings, clock=clock, sms=OutboxGateway(settings.sms_outbox_file), registry=registry)
    district = seed(app.state.ctx.session_factory, settings, registry, clock.now())
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", app, clock, district, tmp, server, thread)


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (run through CDP, so the
    page's own Content-Security-Policy does not have to allow it)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


class WeightMeter:
    """Bytes a page load transfers over the network, compressed as sent, with the browser cache off."""

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.total = 0
        self.cdp.on("Network.loadingFinished", self._finished)

    def _finished(self, event: dict[str, Any]) -> None:
        self.total += int(event.get("encodedDataLength", 0))

    def measure(self, page: Any, url: str) -> int:
        self.total = 0
        page.goto(url, wait_until="networkidle")
        return self.total


def shot(page: Any, lang: str, name: str, tmp: Path) -> Path:
    """A full-page screenshot: into docs/ui/<lang>/ when SM_UPDATE_SCREENSHOTS=1, else the test's folder."""
    folder = DOCS_UI / lang if os.environ.get("SM_UPDATE_SCREENSHOTS") == "1" else tmp / "ui" / lang
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def save_weights(weights: dict[str, dict[str, int]]) -> None:
    if os.environ.get("SM_UPDATE_SCREENSHOTS") != "1":
        return
    path = DOCS_UI / "weights.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    for lang, pages in weights.items():
        known.setdefault(lang, {}).update(pages)
    path.write_text(json.dumps(known, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def decode_png(png: bytes) -> list[str]:
    """The terminal's own decoder (zxing-cpp) over a screenshot, as its camera would see it."""
    import numpy as np
    from PIL import Image

    from device.hw.decoders import ZxingDecoder, as_text

    frame = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.uint8)
    return [as_text(p) for p in ZxingDecoder().decode_bytes(frame)]


def local(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=KZ_TZ)


@dataclass
class SimTerminal:
    """A canteen terminal (the real terminal core, simulated hardware) enrolled against the live server."""

    terminal: Any
    clock: Any
    http: httpx.Client

    def at(self, instant: datetime) -> None:
        self.clock.set_wall(instant.timestamp())

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def close(self) -> None:
        self.terminal.close()
        self.http.close()


def enrol_terminal(server: LiveServer) -> SimTerminal:
    from device.config import load_config
    from device.hw.config import HardwareConfig
    from device.sim.clock import ManualClock
    from device.sim.indicator import PrintingIndicator
    from device.terminal import Terminal
    from provisioning.enrol import EnrolClient, enrol_terminal
    from provisioning.progress import Progress

    http = httpx.Client(base_url=server.url, timeout=30)
    token = server.staff_token(Role.TECHNICIAN)
    code = http.post(
        "/api/admin/v1/terminals/enrolment-codes",
        json={"school_id": server.district.school_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    code.raise_for_status()
    body = code.json()
    clock = ManualClock(server.clock.now().timestamp())
    data_dir = server.tmp / "terminal"
    cfg = data_dir / "terminal.toml"
    enrol_terminal(
        EnrolClient(http, now=clock.wall),
        server_url=server.url,
        code=body["code"],
        root_fingerprint=body["root_fingerprint"],
        data_dir=data_dir,
        config_path=cfg,
        timezone="Asia/Almaty",
        hardware=HardwareConfig(),
        progress=Progress(6, out=io.StringIO()),
        now=clock.wall,
    )
    terminal = Terminal.from_config(
        load_config(cfg), clock=clock, indicator=PrintingIndicator(out=lambda _l: None), sleep=lambda _s: None
    )
    report = terminal.sync_once(http)
    if not report.ok:
        raise RuntimeError(f"the terminal's first sync failed: {report.errors}")
    return SimTerminal(terminal, clock, http)


def otp_code(server: LiveServer, phone: str) -> str:
    """The code from the last sign-in SMS to `phone`, as the parent reads it: where the SMS gateway
    delivered it (the outbox table keeps codes sealed, docs/security.md)."""
    import json
    import re
    import time

    path = server.ctx.settings.sms_outbox_file
    deadline = time.monotonic() + 10  # the SMS is sent just after the answer
    while True:
        lines = path.read_text(encoding="utf-8").splitlines() if path is not None and path.exists() else []
        codes = [
            found.group(1)
            for msg in map(json.loads, lines)
            if msg["phone"] == phone and (found := re.search(r"\b(\d{6})\b", msg["body"]))
        ]
        if codes:
            return codes[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no sign-in SMS reached {phone}")
        time.sleep(0.05)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def after(instant: datetime, **kw: float) -> datetime:
    return instant + timedelta(**kw)
