"""`make demo`: a whole canteen day of the scheme, in one process, on SQLite, with a simulated terminal.

Everything goes through the real FastAPI app (httpx transport to the ASGI app, no network) and the real
terminal core (`device.terminal.Terminal`), enrolled the way a technician enrols one. The run:
set-up → school and families → calendar and tariffs → eligibility list → consent SMS and replies →
vouchers activated → terminal enrolled → breakfast (QR texts, camera PNGs, a repeat, a refused second
meal) → network down, lunch served offline → reconnect and upload → parent notices and a rating →
daily report → month over: timesheet and act of completed work (CSV, XLSX, PDF) → then a school year,
shortened (demo/year.py, on its own database).

`python -m demo [DIR]` (default ./var/demo, wiped first). `run(DIR)` returns a `DemoResult` the
end-to-end test checks.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
import sys
import time as walltime
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from backend.adapters.sms_gateways import OutboxGateway
from backend.adapters.state_registry import CategoryRecord, InMemoryRegistry
from backend.app import create_app
from backend.auth.model import Role
from backend.auth.services import create_admin
from backend.calendar import services as tariff_book
from backend.calendar.model import Tariff
from backend.clock import KZ_TZ, FixedClock
from backend.config import Settings
from backend.context import AppContext
from backend.db import init_schema
from backend.eligibility.model import Category
from backend.roster.iin import make_iin
from backend.roster.tables import Parent, Pupil, School, Supplier
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher
from demo import data as D
from demo.year import YearResult
from demo.year import tell as tell_year
from device.config import load_config
from device.hw.config import HardwareConfig
from device.interfaces import Verdict
from device.sim.clock import ManualClock
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal
from provisioning.enrol import EnrolClient, enrol_terminal
from provisioning.progress import Progress

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

START = datetime(2026, 9, 7, 9, 0, tzinfo=KZ_TZ)  # Monday before the canteen day: lists and consent
SMS_LINES = 3


@dataclass
class DemoResult:
    """Key outcomes, for the end-to-end test and the closing summary."""

    consent_requests: int = 0
    consent_sms_to: list[str] = field(default_factory=list)
    consent_issues: dict[str, int] = field(default_factory=dict)
    reply_outcomes: dict[str, str] = field(default_factory=dict)
    vouchers_active: int = 0
    served: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    repeats: int = 0
    camera_decoded: int = 0
    offline_upload_failed: bool = False
    served_offline: int = 0
    uploaded: int = 0
    duplicates: int = 0
    flagged: int = 0
    notices: int = 0
    rating_stars: int | None = None
    history_meals: int = 0
    daily_meals: int = 0
    daily_activations: int = 0
    timesheet_total: int = 0
    act_meals: int = 0
    act_amount_tiyn: int = 0
    act_state_tiyn: int = 0
    act_parent_tiyn: int = 0
    act_status: str = ""
    act_version: int | None = None
    act_signed: bool = False
    reconciled: bool = False
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    year: YearResult | None = None


class Console:
    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out
        self.n = 0

    def section(self, title: str) -> None:
        self.n += 1
        self.out("")
        self.out(f"━━ {self.n}. {title} " + "━" * max(3, 72 - len(title)))

    def line(self, text: str = "") -> None:
        self.out(f"   {text}")

    def sms(self, phone: str, kind: str, body: str) -> None:
        """The first lines of each message (the official texts run long), each cut to the console width."""
        lines = [ln for ln in body.splitlines() if ln.strip()]
        self.out(f"   ✉ SMS to {phone} [{kind}], {len(body)} characters")
        for part in lines[:SMS_LINES]:
            self.out(f"     │ {part if len(part) <= 100 else part[:99] + '…'}")
        if len(lines) > SMS_LINES:
            self.out(f"     │ … ({len(lines) - SMS_LINES} more lines)")


class Demo:
    """Holds the app, the clocks and the actors; each step is a method."""

    def __init__(self, out_dir: Path, out: Callable[[str], None]) -> None:
        self.dir = out_dir
        self.c = Console(out)
        self.result = DemoResult()
        self.clock = FixedClock(START)
        self.registry = InMemoryRegistry()
        self.headers: dict[str, dict[str, str]] = {}
        self.parent_headers: dict[str, dict[str, str]] = {}
        self.pupil_ids: dict[str, int] = {}
        self.voucher_ids: dict[str, int] = {}
        self.qr: dict[str, str] = {}
        self.sms_seen = 0
        self.school_id = 0
        self.settings = Settings(
            database_url=f"sqlite:///{out_dir / 'backend.db'}",
            key_dir=out_dir / "keys",
            sms_outbox_file=out_dir / "sms-outbox.jsonl",
            session_ttl_seconds=60 * 86400,  # the story spans weeks; nobody signs in again in it
        )
        init_schema(self.settings.database_url)
        self.app = create_app(
            self.settings,
            clock=self.clock,
            sms=OutboxGateway(self.settings.sms_outbox_file),
            registry=self.registry,
        )
        self.ctx: AppContext = self.app.state.ctx
        with warnings.catch_warnings():
            # Starlette's notice about its httpx transport is for library authors, not demo viewers.
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient

        self.http = TestClient(self.app, raise_server_exceptions=True)
        self._terminal: Terminal | None = None
        self._device_clock: ManualClock | None = None

    # --- helpers ----------------------------------------------------------------------------------------
    @property
    def terminal(self) -> Terminal:
        if self._terminal is None:
            raise DemoStepError("the terminal was not enrolled")
        return self._terminal

    @property
    def device_clock(self) -> ManualClock:
        if self._device_clock is None:
            raise DemoStepError("the terminal was not enrolled")
        return self._device_clock

    def at(self, local: datetime) -> None:
        """Moves the back end's clock, and the terminal's raw clock with it (the same room)."""
        delta = (local - self.clock.now()).total_seconds()
        self.clock.set(local)
        if self._device_clock is not None and delta > 0:
            self._device_clock.advance(delta)

    def api(self, method: str, url: str, who: str | None = None, **kw: Any) -> Any:
        headers = self.headers.get(who or "", self.parent_headers.get(who or "", {}))
        r = self.http.request(method, url, headers=headers, **kw)
        if r.status_code >= 400:
            raise DemoStepError(f"{method} {url} → {r.status_code} {r.text[:300]}")
        ctype = r.headers.get("content-type", "")
        return r.json() if ctype.startswith("application/json") else r.content

    def new_sms(self) -> list[tuple[str, str, str]]:
        with self.ctx.session_factory() as s:
            rows = s.execute(
                select(SmsMessage.phone, SmsMessage.kind, SmsMessage.body)
                .where(SmsMessage.direction == "out")
                .order_by(SmsMessage.id)
            ).all()
        fresh = [(r[0], r[1], r[2]) for r in rows[self.sms_seen :]]
        self.sms_seen = len(rows)
        return fresh

    def show_new_sms(self) -> list[tuple[str, str, str]]:
        fresh = self.new_sms()
        for phone, kind, body in fresh:
            self.c.sms(phone, kind, body)
        return fresh

    # --- 1. set-up --------------------------------------------------------------------------------------
    def setup(self) -> None:
        self.c.section("Set-up: a fresh back end on SQLite, keys, the district admin")
        self.c.line(f"database  {self.settings.database_url}")
        self.c.line(
            f"keys      {self.settings.key_dir} (root fingerprint {self.ctx.keys.root_public().kid.hex()})"
        )
        with self.ctx.session_factory() as s:
            s.add(Supplier(bin=D.SUPPLIER_BIN, name=D.SUPPLIER_NAME))
            create_admin(
                s, login="district.admin", password=D.PASSWORD, role=Role.DISTRICT_ADMIN, district=D.DISTRICT
            )
            s.commit()
        self.login("district.admin", Role.DISTRICT_ADMIN)
        self.c.line("district.admin signed in with a password (argon2)")

    def login(self, login: str, role: Role) -> None:
        token = self.api("POST", "/api/auth/v1/admin/login", json={"login": login, "password": D.PASSWORD})
        self.headers[role.value] = {"Authorization": f"Bearer {token['token']}"}

    # --- 2. school and families ------------------------------------------------------------------------
    def families(self) -> None:
        self.c.section("Import from the education database: school, pupils, parents, links (CSV)")
        files = _import_files(self.dir / "import")
        for kind, path in files:
            with path.open("rb") as fh:
                r = self.api(
                    "POST",
                    f"/api/admin/v1/imports/{kind}",
                    "district_admin",
                    files={"file": (path.name, fh, "text/csv")},
                )
            self.c.line(f"{path.name:<12} accepted {r['accepted']}, rejected {len(r['rejected'])}")
            if r["rejected"]:
                raise DemoStepError(f"{kind} rows rejected: {r['rejected']}")
        with self.ctx.session_factory() as s:
            school = s.scalars(select(School).where(School.bin == D.SCHOOL_BIN)).one()
            supplier = s.scalars(select(Supplier).where(Supplier.bin == D.SUPPLIER_BIN)).one()
            school.supplier_id = supplier.id  # the district's catering contract
            self.school_id = school.id
            iins = {iin: pid for iin, pid in s.execute(select(Pupil.iin, Pupil.id))}
            for login, role in D.STAFF:
                if role is not Role.DISTRICT_ADMIN:
                    create_admin(s, login=login, password=D.PASSWORD, role=role, school_ids=(school.id,))
            s.commit()
        for fam, _parent_iin, children in _cast():
            for child, iin in children:
                self.pupil_ids[child.key] = iins[iin]
                self.registry.add(
                    CategoryRecord(iin, Category.TARGETED_ASSISTANCE, date(2026, 1, 1), date(2026, 12, 31))
                )
            kids = ", ".join(f"{c.full_name} ({c.class_name})" for c, _ in children)
            self.c.line(f"{fam.parent_name:<16} {fam.phone or 'no phone on record':<18} → {kids}")
        self.c.line(f"the school's supplier: {D.SUPPLIER_NAME}")
        for login, role in D.STAFF:
            if role is not Role.DISTRICT_ADMIN:
                self.login(login, role)
        self.c.line(
            f"school staff signed in: {', '.join(login for login, role in D.STAFF if role is not Role.DISTRICT_ADMIN)}"
        )
        self.c.line("every child is in the state register (targeted social assistance) for the cross-check")

    # --- 3. calendar and tariffs -----------------------------------------------------------------------
    def calendar(self) -> None:
        self.c.section("Calendar (district admin) and tariffs (operator)")
        slots = [
            {"slot": n, "start": a.isoformat("minutes"), "end": b.isoformat("minutes")} for n, a, b in D.SLOTS
        ]
        self.api("PUT", f"/api/admin/v1/schools/{self.school_id}/meal-slots", "district_admin", json=slots)
        for n, a, b in D.SLOTS:
            self.c.line(f"slot {n}: {a:%H:%M}–{b:%H:%M} ({'breakfast' if n == 1 else 'lunch'})")
        # the default prices every school without its own is billed by are the operator's
        # (`python -m backend tariffs add`), not a district's: the same service the command calls
        with UnitOfWork(self.ctx.session_factory) as uow:
            for plan, slot, amount, state in D.TARIFFS:
                tariff_book.add_tariff(uow, Tariff(None, plan, slot, D.TARIFFS_FROM, amount, state))
            uow.commit()
        self.c.line(
            f"default tariffs from {D.TARIFFS_FROM} (set by the operator: python -m backend tariffs add)"
        )
        for plan, slot, amount, state in D.TARIFFS:
            kind = "free      " if plan == 1 else "discounted"
            self.c.line(
                f"{kind} slot {slot}: {amount / 100:8.2f} ₸ (state {state / 100:.2f}, family {(amount - state) / 100:.2f})"
            )

    # --- 4. eligibility list ---------------------------------------------------------------------------
    def eligibility(self) -> None:
        self.c.section(f"Eligibility list for {D.MONTH}: formed, approved, checked")
        lst = self.api(
            "POST",
            f"/api/admin/v1/schools/{self.school_id}/eligibility-lists",
            "social_pedagogue",
            json={"month": D.MONTH},
        )
        for pupil_id in self.pupil_ids.values():
            self.api(
                "POST",
                f"/api/admin/v1/eligibility-lists/{lst['id']}/entries",
                "social_pedagogue",
                json={"pupil_id": pupil_id, "category": Category.TARGETED_ASSISTANCE.value},
            )
        self.c.line(f"social pedagogue formed list #{lst['id']} with {len(self.pupil_ids)} pupils")
        self.api("POST", f"/api/admin/v1/eligibility-lists/{lst['id']}/approve", "school_head")
        self.c.line("school head approved it")
        summary = self.api("POST", f"/api/admin/v1/eligibility-lists/{lst['id']}/check", "district_admin")
        self.c.line(
            f"cross-check: {summary['confirmed']} confirmed, {summary['returned']} returned, "
            f"{summary['vouchers_formed']} vouchers formed (grades 1–4, no SMS needed)"
        )
        self.c.line(
            f"consent: {summary['consent_requests']} SMS requests, {summary['consent_joined']} children joined "
            f"to a parent's request, issues {summary['consent_issues']}"
        )
        self.result.consent_requests = summary["consent_requests"]
        self.result.consent_issues = dict(summary["consent_issues"])
        sent = self.show_new_sms()
        self.result.consent_sms_to = [phone for phone, kind, _ in sent if kind == "request"]

    # --- 5. consent replies ----------------------------------------------------------------------------
    def consent(self) -> None:
        self.c.section("Parents reply by SMS (provider webhook)")
        self.at(START + timedelta(hours=2))
        for fam in D.FAMILIES:
            if fam.reply is None or fam.phone is None:
                continue
            self.api("POST", "/api/sms/v1/inbound", json={"from": fam.phone, "text": fam.reply})
            # the webhook answers every call alike; what the reply did is in the inbound log
            with self.ctx.session_factory() as s:
                note = s.scalars(
                    select(SmsMessage.note).where(SmsMessage.direction == "in").order_by(SmsMessage.id.desc())
                ).first()
            outcome = (note or "").lower()
            self.result.reply_outcomes[fam.key] = outcome
            self.c.line(f"{fam.phone} replied {fam.reply!r} → {outcome}")
            self.show_new_sms()

    # --- 6. activation ---------------------------------------------------------------------------------
    def parent_login(self, fam: D.Family) -> None:
        assert fam.phone is not None
        self.api("POST", "/api/auth/v1/parent/otp", json={"phone": fam.phone})
        self.new_sms()
        code = None
        # the outbox table holds the code masked: read it where the SMS gateway delivered it
        assert self.settings.sms_outbox_file is not None
        for line in self.settings.sms_outbox_file.read_text(encoding="utf-8").splitlines():
            msg = json.loads(line)
            found = re.search(r"\b(\d{6})\b", msg["body"])
            if msg["phone"] == fam.phone and found:
                code = found.group(1)
        if code is None:
            raise DemoStepError(f"no OTP SMS reached {fam.phone}")
        token = self.api("POST", "/api/auth/v1/parent/login", json={"phone": fam.phone, "code": code})
        self.parent_headers[fam.key] = {"Authorization": f"Bearer {token['token']}"}

    def activation(self) -> None:
        self.c.section("Parents sign in (SMS code) and activate the vouchers")
        self.at(START + timedelta(days=1, hours=1))
        for fam in D.FAMILIES:
            if fam.phone is None:
                continue
            self.parent_login(fam)
            vouchers = self.api("GET", "/api/parent/v1/vouchers", fam.key)
            if not vouchers:
                self.c.line(f"{fam.parent_name}: no voucher (declined)")
                continue
            for v in vouchers:
                key = next(k for k, pid in self.pupil_ids.items() if pid == v["pupil_id"])
                self.voucher_ids[key] = v["id"]
                if v["status"] == "awaiting_activation":
                    v = self.api("POST", f"/api/parent/v1/vouchers/{v['id']}/activate", fam.key)
                self.c.line(f"{fam.parent_name}: voucher {v['id']} for {v['child']} → {v['status']}")
        self.api(
            "POST",
            f"/api/admin/v1/vouchers/{self.voucher_ids[D.DISCOUNTED]}/plan",
            "district_admin",
            json={"plan": 2, "reason": "family income above the free-meal line: discounted"},
        )
        with self.ctx.session_factory() as s:
            self.result.vouchers_active = len(
                s.scalars(select(Voucher.id).where(Voucher.status == "active")).all()
            )
        self.c.line(f"district put voucher {self.voucher_ids[D.DISCOUNTED]} on the discounted plan")
        self.c.line(f"{self.result.vouchers_active} vouchers active")

    # --- 7. terminal -----------------------------------------------------------------------------------
    def enrol_terminal(self) -> None:
        self.c.section("Technician enrols the canteen terminal (simulated hardware)")
        self.at(datetime.combine(D.CANTEEN_DAY, time(7, 30), KZ_TZ))
        code = self.api(
            "POST",
            "/api/admin/v1/terminals/enrolment-codes",
            "technician",
            json={"school_id": self.school_id},
        )
        self.c.line(f"one-time code {code['code']}, root fingerprint {code['root_fingerprint']}")
        self._device_clock = ManualClock(self.clock.now().timestamp())
        data_dir = self.dir / "terminal"
        cfg_path = data_dir / "terminal.toml"
        progress = io.StringIO()
        enrol_terminal(
            EnrolClient(self.http, now=self.device_clock.wall),
            server_url=str(self.http.base_url),
            code=code["code"],
            root_fingerprint=code["root_fingerprint"],
            data_dir=data_dir,
            config_path=cfg_path,
            timezone="Asia/Almaty",
            hardware=HardwareConfig(),
            progress=Progress(6, out=progress),
            now=self.device_clock.wall,
        )
        for part in progress.getvalue().splitlines():
            if part.strip():
                self.c.line(f"  {part.strip()}")
        self._terminal = Terminal.from_config(
            load_config(cfg_path),
            clock=self.device_clock,
            indicator=PrintingIndicator(out=lambda _line: None),  # the demo prints verdicts itself
            sleep=lambda _s: None,
        )
        report = self.terminal.sync_once(self.http)
        self.c.line(
            f"first sync: {'ok' if report.ok else report.errors}; terminal shows {self.terminal.standing()}"
        )

    # --- 8. the canteen day ----------------------------------------------------------------------------
    def issue_qr(self, key: str, fam_key: str, *, png: bool = False) -> str:
        vid = self.voucher_ids[key]
        body = self.api("POST", f"/api/parent/v1/vouchers/{vid}/qr", fam_key)
        self.qr[key] = body["qr"]
        if png:
            image = self.api("GET", f"/api/parent/v1/vouchers/{vid}/qr.png", fam_key)
            path = self.dir / "qr" / f"{key}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(image)
            self.result.files.append(path)
            # the PNG's token is the newer one (a fresh serial); the pupil shows that screen
            self.qr[key] = _decode_png(path) or body["qr"]
        return self.qr[key]

    def serve(self, key: str, text: str, how: str = "QR") -> Verdict:
        verdict = self.terminal.present_qr(text)
        who = verdict.display or key
        if verdict.served:
            if verdict.repeat:
                self.result.repeats += 1
                self.c.line(f"{how:<6} {who:<12} SERVED again within seconds → the same event, counted once")
            else:
                self.result.served += 1
                self.c.line(f"{how:<6} {who:<12} SERVED  (slot {verdict.slot}, plan {verdict.plan})")
        else:
            reason = verdict.reason.value if verdict.reason else "?"
            self.result.refused[reason] = self.result.refused.get(reason, 0) + 1
            self.c.line(f"{how:<6} {who:<12} REFUSED {reason}")
        return verdict

    def breakfast(self) -> None:
        self.c.section(f"Canteen day {D.CANTEEN_DAY:%A %d.%m.%Y}: breakfast")
        self.at(datetime.combine(D.CANTEEN_DAY, time(8, 0), KZ_TZ))
        self.issue_qr("aruzhan", "bekova", png=True)
        self.issue_qr("nurlan", "akhmetova", png=True)
        for key in ("dana", "erlan"):
            self.issue_qr(key, "akhmetova")
        self.c.line(f"parents opened the app: 4 dynamic QR tokens, 2 saved as PNG in {self.dir / 'qr'}")
        self.at(datetime.combine(D.CANTEEN_DAY, time(8, 40), KZ_TZ))
        for key in ("aruzhan", "nurlan"):  # the camera path: PNG → decoder → text
            text = _decode_png(self.dir / "qr" / f"{key}.png")
            if text is not None:
                self.result.camera_decoded += 1
            self.serve(key, text or self.qr[key], "camera")
        self.device_clock.advance(3)
        self.serve("aruzhan", self.qr["aruzhan"], "camera")  # shown twice in a row
        self.device_clock.advance(60)
        for key in ("dana", "erlan"):
            self.serve(key, self.qr[key])
        self.at(datetime.combine(D.CANTEEN_DAY, time(9, 5), KZ_TZ))
        self.issue_qr("aruzhan", "bekova")  # a fresh token: the first one is an hour old
        self.serve("aruzhan", self.qr["aruzhan"])  # came back for a second breakfast
        self.serve("forged", "SW1:NOT-A-REAL-TOKEN")
        report = self.terminal.sync_once(self.http)
        up = report.upload
        self.c.line(
            f"09:10 sync: uploaded {up.accepted if up else 0} journal records, meals and refusals "
            f"({'ok' if report.ok else report.errors})"
        )
        if up:
            self.result.uploaded += up.accepted
            self.result.duplicates += up.duplicates
            self.result.flagged += up.flagged

    def lunch_offline(self) -> None:
        self.c.section("The network goes down; lunch is served offline")
        self.at(datetime.combine(D.CANTEEN_DAY, time(11, 0), KZ_TZ))
        offline = httpx.Client(base_url="http://backend.invalid", transport=httpx.MockTransport(_no_network))
        report = self.terminal.sync_once(offline)
        self.result.offline_upload_failed = "upload" in report.errors or "allowlist" in report.errors
        self.c.line(
            f"11:00 sync attempt fails: {', '.join(sorted(report.errors))} — the terminal keeps serving"
        )
        self.at(datetime.combine(D.CANTEEN_DAY, time(12, 40), KZ_TZ))
        for key, fam in (
            ("aruzhan", "bekova"),
            ("nurlan", "akhmetova"),
            ("dana", "akhmetova"),
            ("erlan", "akhmetova"),
        ):
            self.issue_qr(key, fam)  # the parents' phones still reach the back end
        before = self.result.served
        for key in ("aruzhan", "nurlan", "dana", "erlan"):
            self.serve(key, self.qr[key])
            self.device_clock.advance(40)
        self.serve("nurlan", self.qr["nurlan"])  # a second lunch: refused
        self.result.served_offline = self.result.served - before
        again = self.terminal.sync_once(offline)
        self.c.line(
            f"13:00 still offline ({', '.join(sorted(again.errors))}); {self.result.served_offline} meals wait "
            f"in the journal ({self.terminal.journal.pending_count()} records with the refusal)"
        )

    def reconnect(self) -> None:
        self.c.section("The network is back: the journal uploads")
        self.at(datetime.combine(D.CANTEEN_DAY, time(14, 30), KZ_TZ))
        # The first batch reaches the back end but its answer is lost on the way back: the terminal
        # sends it again and the back end recognises every event id (idempotent upload).
        lossy = httpx.Client(base_url=self.http.base_url, transport=_LoseFirstBatchAnswer(self.http))
        report = self.terminal.sync_once(lossy)
        up = report.upload
        if up:
            self.result.uploaded += up.accepted
            self.result.duplicates += up.duplicates
            self.result.flagged += up.flagged
        self.c.line("the first batch's answer is lost on the way back; the terminal retries the same batch")
        self.c.line(
            f"back end: {up.accepted if up else 0} new records, {up.duplicates if up else 0} duplicates "
            f"(already stored, not counted twice), {up.flagged if up else 0} flagged; "
            f"terminal shows {self.terminal.standing()}"
        )
        again = self.terminal.sync_once(self.http)
        self.c.line(
            f"a second sync uploads nothing new ({again.upload.events if again.upload else 0} events)"
        )
        fleet = self.api("GET", f"/api/admin/v1/schools/{self.school_id}/terminals", "technician")
        for t in fleet["terminals"]:
            self.c.line(
                f"fleet: terminal {t['terminal_id']} last sync {_local(t['last_sync'])}, backlog {t['backlog']}, "
                f"faults {t['faults'] or 'none'}"
            )

    # --- 9. parents ------------------------------------------------------------------------------------
    def parents(self) -> None:
        from backend.notify.delivery import KIND_MEAL
        from backend.notify.delivery_tables import ParentNoticeRow
        from backend.notify.model import meal_text
        from backend.web.notice_worker import deliver

        self.c.section("Parents hear about each meal; one rates a lunch")
        # the worker's pass: the uploads queued their meals; each becomes a notice to the pupil's guardian
        deliver(self.ctx.session_factory, None, now=self.ctx.clock.now(), max_attempts=1)
        with self.ctx.session_factory() as s:
            rows = s.execute(
                select(
                    ParentNoticeRow.display,
                    ParentNoticeRow.at,
                    Parent.full_name,
                    Parent.phone,
                    Parent.language,
                )
                .join(Parent, Parent.id == ParentNoticeRow.parent_id)
                .where(ParentNoticeRow.kind == KIND_MEAL)
                .order_by(ParentNoticeRow.id)
            ).all()
        self.result.notices = len(rows)
        for display, at, name, phone, language in rows:
            self.c.line(f"→ {name} ({phone}): {meal_text(language, display, at)}")
        history = self.api("GET", f"/api/parent/v1/vouchers/{self.voucher_ids['nurlan']}/meals", "akhmetova")
        self.result.history_meals = len(history)
        self.c.line(f"Гүлнар opens Нұрлан's voucher history: {len(history)} meals today")
        # The notice names the meal event ("meal:<event id>"); the parent rates the meal from it.
        with self.ctx.session_factory() as s:
            source = s.scalars(
                select(ParentNoticeRow.source)
                .where(
                    ParentNoticeRow.pupil_id == self.pupil_ids["nurlan"],
                    ParentNoticeRow.kind == KIND_MEAL,
                )
                .order_by(ParentNoticeRow.id.desc())
            ).first()
        if source is None:
            raise DemoStepError("no meal notice for Нұрлан to rate")
        event_id = source.removeprefix("meal:")
        r = self.api(
            "POST",
            f"/api/parent/v1/meals/{event_id}/rating",
            "akhmetova",
            json={"stars": 5, "text": "Дәмді болды, рақмет! / Было вкусно, спасибо!"},
        )
        self.result.rating_stars = r["stars"]
        self.c.line(f"she rates that lunch {r['stars']}★")
        ratings = self.api("GET", f"/api/admin/v1/ratings/schools/{self.school_id}", "school_head")
        self.c.line(f"school rating: {ratings.get('average')} from {ratings.get('count')} rating(s)")

    # --- 10. daily report ------------------------------------------------------------------------------
    def daily_report(self) -> None:
        self.c.section("Daily report to the national education database")
        self.at(datetime.combine(D.CANTEEN_DAY, time(18, 0), KZ_TZ))
        day = D.CANTEEN_DAY.isoformat()
        body = self.api("GET", f"/api/admin/v1/reports/daily?date={day}", "district_admin")
        data = body if isinstance(body, dict) else json.loads(body)
        for s in data["schools"]:
            self.c.line(
                f"{s['school_bin']} {s['school_name']}: {s['meals_served']} meals "
                f"(free {s['meals_free']}, discounted {s['meals_discounted']}, by slot {s['meals_by_slot']}), "
                f"{s['activations']} activations, {s['active_vouchers']} active vouchers, {s['flagged_held']} held"
            )
            self.result.daily_meals += s["meals_served"]
        activations_day = (START + timedelta(days=1)).date().isoformat()
        act_body = self.api("GET", f"/api/admin/v1/reports/daily?date={activations_day}", "district_admin")
        act_data = act_body if isinstance(act_body, dict) else json.loads(act_body)
        self.result.daily_activations = sum(s["activations"] for s in act_data["schools"])
        self.c.line(f"{activations_day}: {self.result.daily_activations} vouchers activated that day")
        out = self.dir / "reports"
        out.mkdir(parents=True, exist_ok=True)
        for fmt in ("json", "csv"):
            content = self.http.get(
                f"/api/admin/v1/reports/daily?date={day}&format={fmt}", headers=self.headers["district_admin"]
            ).content
            path = out / f"daily-{day}.{fmt}"
            path.write_bytes(content)
            self.result.files.append(path)
        self.c.line(f"files: {out / f'daily-{day}.json'}, .csv")

    # --- 11. month end ---------------------------------------------------------------------------------
    def month_end(self) -> None:
        self.c.section("Month over: timesheet and act of completed work")
        self.at(datetime(2026, 10, 1, 9, 0, tzinfo=KZ_TZ))
        sid = self.school_id
        ts = self.api("GET", f"/api/admin/v1/billing/timesheets/{sid}?month={D.MONTH}", "school_head")
        self.result.timesheet_total = ts["total"]
        days = [d for d, n in ts["day_totals"].items() if n]
        self.c.line(
            f"timesheet {D.MONTH}: {len(ts['days'])} school days, {ts['total']} meals, names shown to the head"
        )
        for row in ts["rows"]:
            cells = " ".join(f"{d[-2:]}:{row['meals'].get(d, 0)}" for d in days)
            self.c.line(
                f"  {row['label']:<26} {row['class_name']:<4} plan {row['plan']}  {cells}  Σ {row['total']}"
            )
        sup = self.api("GET", f"/api/admin/v1/billing/timesheets/{sid}?month={D.MONTH}", "supplier")
        self.c.line(f"the supplier's copy shows only {', '.join(r['label'] for r in sup['rows'])}")
        act = self.api("GET", f"/api/admin/v1/billing/acts/{sid}?month={D.MONTH}", "district_admin")
        self.result.act_meals = act["meals"]
        self.result.act_amount_tiyn = act["amount_tiyn"]
        self.result.act_state_tiyn = act["state_tiyn"]
        self.result.act_parent_tiyn = act["parent_tiyn"]
        self.result.act_status = act["status"]
        self.result.act_version = act["version"]
        self.c.line(f"act {D.MONTH} v{act['version']} — status {act['status']}, due {act['due_date']}")
        for ln in act["lines"]:
            self.c.line(
                f"  plan {ln['plan']} slot {ln['slot']}: {ln['meals']} × {_tenge(ln['unit_tiyn'])} = {_tenge(ln['amount_tiyn'])}"
                f"  (state {_tenge(ln['unit_state_tiyn'] * ln['meals'])}, family {_tenge(ln['unit_parent_tiyn'] * ln['meals'])})"
            )
        self.c.line(
            f"  TOTAL {act['meals']} meals = {_tenge(act['amount_tiyn'])}: state {_tenge(act['state_tiyn'])}, "
            f"families {_tenge(act['parent_tiyn'])}"
        )
        for who, step in (("social_pedagogue", "submitted"), ("school_head", "head_signed")):
            self.api(
                "POST",
                f"/api/admin/v1/billing/acts/{sid}/steps",
                who,
                json={"month": D.MONTH, "version": act["version"], "step": step},
            )
        signed = self.api("GET", f"/api/admin/v1/billing/acts/{sid}?month={D.MONTH}", "school_head")
        self.result.act_signed = signed["status"] == "signed"
        self.c.line(
            f"the social pedagogue submits the timesheet, the school head signs version {signed['version']}: "
            f"{signed['status']}"
        )
        rec = self.api("GET", f"/api/admin/v1/billing/reconciliation/{sid}?month={D.MONTH}", "school_head")
        self.result.reconciled = bool(rec["ok"])
        self.c.line(
            f"reconciliation with the ingested events: {'exact' if rec['ok'] else rec['problems']} "
            f"({rec['events']} events, {_tenge(rec['events_amount_tiyn'])})"
        )
        out = self.dir / "billing"
        out.mkdir(parents=True, exist_ok=True)
        for fmt in ("csv", "xlsx", "pdf"):
            for kind, url, who in (
                (
                    "timesheet",
                    f"/api/admin/v1/billing/timesheets/{sid}?month={D.MONTH}&format={fmt}",
                    "school_head",
                ),
                ("act", f"/api/admin/v1/billing/acts/{sid}?month={D.MONTH}&format={fmt}", "district_admin"),
            ):
                path = out / f"{kind}-{D.MONTH}.{fmt}"
                path.write_bytes(self.api("GET", url, who))
                self.result.files.append(path)
        self.c.line(f"files: {out}/timesheet-{D.MONTH}.{{csv,xlsx,pdf}}, act-{D.MONTH}.{{csv,xlsx,pdf}}")

    # --- 14. the school year, shortened ---------------------------------------------------------------------
    def school_year(self) -> None:
        self.c.section("A school year, shortened: September to May in two canteen days a month")
        self.result.year = tell_year(self.dir / "school-year", self.c.line)

    def close(self) -> None:
        if self._terminal is not None:
            self._terminal.close()
        self.http.close()
        self.ctx.engine.dispose()


class DemoStepError(RuntimeError):
    """A step of the demo could not complete; the message says which call answered what."""


class _LoseFirstBatchAnswer(httpx.BaseTransport):
    """Passes requests to the app; the answer to the first meal batch is dropped (a cut connection)."""

    def __init__(self, client: TestClient) -> None:
        self._client = client
        self._dropped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._client.send(
            self._client.build_request(
                request.method,
                request.url.path,
                params=request.url.params,
                headers=request.headers,
                content=request.read(),
            )
        )
        if not self._dropped and request.url.path.endswith("/meal-batches"):
            self._dropped = True
            raise httpx.ReadError("connection reset before the answer arrived (simulated)", request=request)
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)


def _no_network(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("network unreachable (simulated)", request=request)


def _decode_png(path: Path) -> str | None:
    """The camera path: the PNG the parent's phone shows, decoded by the terminal's QR decoder."""
    try:
        import numpy as np
        from PIL import Image

        from device.hw.decoders import ZxingDecoder, as_text

        frame = np.asarray(Image.open(path).convert("L"), dtype=np.uint8)
        payloads = ZxingDecoder().decode_bytes(frame)
    except (ImportError, OSError, RuntimeError):  # no decoder here: the demo shows the QR text path only
        return None
    return as_text(payloads[0]) if payloads else None


def _cast() -> list[tuple[D.Family, str, list[tuple[D.Child, str]]]]:
    """Each family with made-up valid IINs for the parent and each child (stable across runs)."""
    out = []
    n = 0
    for fam in D.FAMILIES:
        n += 1
        parent_iin = _iin(800_000 + n * 10)
        children = []
        for child in fam.children:
            n += 1
            children.append((child, _iin(900_000 + n * 10)))
        out.append((fam, parent_iin, children))
    return out


def _import_files(folder: Path) -> list[tuple[str, Path]]:
    """The education database's export for the demo school, as the district admin uploads it."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[list[str]]] = {
        "schools": [
            ["bin", "name", "region", "district"],
            [D.SCHOOL_BIN, D.SCHOOL_NAME, "Алматы", D.DISTRICT],
        ],
        "pupils": [["iin", "full_name", "grade", "class_name", "school_bin"]],
        "parents": [["iin", "full_name", "phone", "language"]],
        "links": [["pupil_iin", "parent_iin", "role"]],
    }
    for fam, parent_iin, children in _cast():
        rows["parents"].append([parent_iin, fam.parent_name, fam.phone or "", "kk+ru"])
        for child, iin in children:
            rows["pupils"].append([iin, child.full_name, str(child.grade), child.class_name, D.SCHOOL_BIN])
            rows["links"].append([iin, parent_iin, fam.role])
    out = []
    for kind, table in rows.items():
        path = folder / f"{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(table)
        out.append((kind, path))
    return out


def _iin(n: int) -> str:
    while True:
        iin = make_iin(f"1{n:010d}")
        if iin is not None:
            return iin
        n += 1


def _local(iso: str | None) -> str:
    return "never" if iso is None else f"{datetime.fromisoformat(iso).astimezone(KZ_TZ):%d.%m %H:%M}"


def _tenge(tiyn: int) -> str:
    return f"{tiyn // 100:,}.{tiyn % 100:02d} ₸".replace(",", " ")


STEPS = (
    "setup",
    "families",
    "calendar",
    "eligibility",
    "consent",
    "activation",
    "enrol_terminal",
    "breakfast",
    "lunch_offline",
    "reconnect",
    "parents",
    "daily_report",
    "month_end",
    "school_year",
)


@contextmanager
def _timed(c: Console) -> Iterator[None]:
    t0 = walltime.perf_counter()
    yield
    c.out("")
    c.out(f"━━ done in {walltime.perf_counter() - t0:.1f} s " + "━" * 60)


def run(out_dir: Path, out: Callable[[str], None] = print) -> DemoResult:
    """Runs every step; a failing step is reported and the rest still run where they can."""
    # The terminal's sync logs each failed step; during the offline stretch the demo says so itself.
    logging.getLogger("device").setLevel(logging.ERROR)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    demo = Demo(out_dir, out)
    try:
        with _timed(demo.c):
            for name in STEPS:
                try:
                    getattr(demo, name)()
                except Exception as exc:  # the demo reports a broken step and goes on with the rest
                    demo.result.problems.append(f"{name}: {type(exc).__name__}: {exc}")
                    demo.c.line(f"!! step '{name}' could not complete: {type(exc).__name__}: {exc}")
            _summary(demo)
    finally:
        demo.close()
    return demo.result


def _summary(demo: Demo) -> None:
    r = demo.result
    demo.c.section("Summary")
    demo.c.line(
        f"consent SMS requests {r.consent_requests} (to {', '.join(r.consent_sms_to)}), issues {r.consent_issues}"
    )
    demo.c.line(f"vouchers active {r.vouchers_active}; meals served {r.served} ({r.served_offline} offline)")
    demo.c.line(
        f"refused {r.refused}; repeats counted once {r.repeats}; PNGs decoded by the camera path {r.camera_decoded}"
    )
    demo.c.line(
        f"uploaded {r.uploaded}, duplicates {r.duplicates}, flagged {r.flagged}; parent notices {r.notices}"
    )
    demo.c.line(
        f"act: {r.act_meals} meals, {_tenge(r.act_amount_tiyn)} (state {_tenge(r.act_state_tiyn)}, "
        f"families {_tenge(r.act_parent_tiyn)}), v{r.act_version} {r.act_status}"
        f"{', then signed' if r.act_signed else ''}; reconciled {r.reconciled}"
    )
    if r.year is not None:
        y = r.year
        demo.c.line(
            f"school year: {sum(m[0] for m in y.months.values())} lunches billed over nine months, "
            f"{y.reports_delivered} daily reports delivered, the complaint {y.appeal_status}"
        )
    if r.problems:
        demo.c.line("steps that did not complete:")
        for p in r.problems:
            demo.c.line(f"  - {p}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else Path("var/demo")
    result = run(out_dir)
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
