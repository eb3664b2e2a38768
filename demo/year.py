"""The school year, shortened: September 2026 to May 2027 in two canteen days a month, then the summer
and the next September, for a small district on its own SQLite database (the canteen day's figures
stay its own).

Two schools, one supplier, seven pupils in six families: Aigerim moves from school 12 to school 47 on
15 November (the education database's import says so); Daniyar is left off December's and January's
lists and is back in February; Timur's father declines in September and is not asked again that year;
Madina's mother has no phone until October; Ruslan and Alina are siblings at the two schools; Yerlan is
in grade 2. The worker runs each morning: last month's acts, yesterday's report to the national
education database and complaints to e-Otinish, both by file drop. Meals reach the back end as signed
terminal batches over the terminal API, so each one is judged as a real one would be.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select

from backend.adapters.sms_gateways import OutboxGateway
from backend.adapters.state_registry import CategoryRecord, InMemoryRegistry
from backend.app import create_app
from backend.auth.model import Principal, Role
from backend.auth.services import admin_principal, create_admin
from backend.billing import register, steps
from backend.billing.services import compute_acts
from backend.calendar.model import SlotTime, Tariff
from backend.calendar.services import add_tariff, set_slots
from backend.campaign import services as campaign
from backend.clock import KZ_TZ, FixedClock
from backend.config import Settings
from backend.consent.services import handle_reply
from backend.context import AppContext
from backend.db import init_schema
from backend.eligibility import services as lists
from backend.eligibility.categories import put_category
from backend.eligibility.model import Category
from backend.feedback.services import file_complaint, forward
from backend.fleet.allowlist import bundle_content
from backend.fleet.services import create_enrolment_code, enrol
from backend.imports.model import ImportKind
from backend.imports.services import run_import
from backend.menu.services import publish
from backend.roster.iin import make_iin
from backend.roster.tables import Parent, Pupil, School, Supplier
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork
from backend.vouchers.services import activate
from backend.vouchers.tables import Voucher
from backend.worker import tick
from demo import data as D
from shared_crypto import DeviceAuth, MealBatch, MealEvent, Method, SigningKey, sign_batch, sign_device_auth

DISTRICT = "Алмалы ауданы"
MONTHS = [date(2026, m, 1) for m in (9, 10, 11, 12)] + [date(2027, m, 1) for m in (1, 2, 3, 4, 5)]
LUNCH = (time(12, 0), time(14, 0))
FULL, STATE = 80_050, 48_030  # lunch 800.50 ₸; on the discounted plan the state pays 480.30 ₸
EMERGENCY = "emergency_affected"
# child: (name, grade, class, school 0/1, parent, category)
CHILDREN = {
    "aigerim": ("Сейтқали Айгерим", 6, "6А", 0, "gulnara", Category.TARGETED_ASSISTANCE.value),
    "daniyar": ("Омаров Данияр", 7, "7Б", 0, "saule", Category.TARGETED_ASSISTANCE.value),
    "timur": ("Кузнецов Тимур", 8, "8А", 0, "sergey", Category.TARGETED_ASSISTANCE.value),
    "madina": ("Әбілова Мадина", 5, "5В", 0, "zhanar", EMERGENCY),
    "ruslan": ("Исаев Руслан", 6, "6Б", 0, "aliya", Category.BELOW_SUBSISTENCE.value),
    "alina": ("Исаева Алина", 9, "9А", 1, "aliya", Category.BELOW_SUBSISTENCE.value),
    "yerlan": ("Нұров Ерлан", 2, "2А", 1, "bolat", None),
}
PARENTS = {
    "gulnara": ("Сейтқали Гүлнара", "+77011000001", "mother"),
    "saule": ("Омарова Сәуле", "+77011000002", "mother"),
    "sergey": ("Кузнецов Сергей", "+77011000003", "father"),
    "zhanar": ("Әбілова Жанар", None, "mother"),
    "aliya": ("Исаева Әлия", "+77011000005", "mother"),
    "bolat": ("Нұров Болат", "+77011000006", "father"),
}
ZHANAR_PHONE = "+77011000004"


@dataclass
class YearResult:
    months: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # month → meals, state, families
    states: dict[str, dict[str, str]] = field(default_factory=dict)  # month → child → status@school
    sms: dict[str, int] = field(default_factory=dict)  # parent → messages sent to them
    flagged: int = 0
    register_lines: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # bin, v, meals, ₸
    register_files: list[Path] = field(default_factory=list)
    reports_delivered: int = 0
    appeal_status: str = ""
    summer_allowlisted: int = -1
    next_year_requests: int = 0
    next_year_vouchers: int = 0


@dataclass
class _Canteen:
    """A school's terminal as the back end sees it: an enrolled key that signs meal batches."""

    terminal_id: int
    key: SigningKey
    seq: int = 0

    def batch(self, meals: list[tuple[int, datetime]], now: datetime) -> tuple[bytes, dict[str, str]]:
        events = []
        for voucher_id, at in meals:
            self.seq += 1
            local = at.astimezone(KZ_TZ).date()
            wall = int(at.timestamp() * 1000)
            events.append(
                MealEvent(
                    event_id=os.urandom(16),
                    seq=self.seq,
                    boot_id=b"\x01" * 16,
                    mono_ms=wall - 1_700_000_000_000,
                    wall_ms=wall,
                    wall_trusted=True,
                    served=True,
                    reason="SERVED",
                    method=Method.QR,
                    voucher_id=voucher_id,
                    token_serial=1,
                    slot=1,
                    day=local.year * 10000 + local.month * 100 + local.day,
                )
            )
        body = sign_batch(self.key, MealBatch(self.terminal_id, int(now.timestamp()), tuple(events)))
        auth = sign_device_auth(
            self.key, DeviceAuth(self.terminal_id, "POST /api/terminal/v1/meal-batches", int(now.timestamp()))
        )
        return body, {"X-SW-Device-Auth": auth, "Content-Type": "application/cose"}


def _iin(n: int) -> str:
    while True:
        iin = make_iin(f"1{n:010d}")
        if iin is not None:
            return iin
        n += 1


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), KZ_TZ)


def _tenge(tiyn: int) -> str:
    return f"{tiyn // 100:,}.{tiyn % 100:02d} ₸".replace(",", " ")


class SchoolYear:
    def __init__(self, out_dir: Path, line: Callable[[str], None]) -> None:
        self.dir = out_dir
        self.line = line
        self.result = YearResult()
        self.clock = FixedClock(_at(date(2026, 8, 25)))
        self.registry = InMemoryRegistry()
        self.settings = Settings(
            database_url=f"sqlite:///{out_dir / 'year.db'}",
            key_dir=out_dir / "keys",
            sms_outbox_file=out_dir / "sms-outbox.jsonl",
            extra={
                "SM_X_NEDB_DROP_DIR": str(out_dir / "to-nedb"),
                "SM_X_EOTINISH_DROP_DIR": str(out_dir / "to-eotinish"),
            },
        )
        init_schema(self.settings.database_url)
        app = create_app(
            self.settings,
            clock=self.clock,
            sms=OutboxGateway(self.settings.sms_outbox_file),
            registry=self.registry,
        )
        self.ctx: AppContext = app.state.ctx
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient
        self.http = TestClient(app)
        self.schools: list[int] = []
        self.bins: list[str] = []
        self.pupil: dict[str, int] = {}
        self.parent: dict[str, int] = {}
        self.staff: list[dict[str, Principal]] = []
        self.district: Principal | None = None
        self.canteens: dict[int, _Canteen] = {}

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.ctx.session_factory)

    # --- the district -----------------------------------------------------------------------------------
    def setup(self) -> None:
        now = self.clock.now()
        with self.uow() as uow:
            s = uow.session
            supplier = Supplier(
                bin="180940012345",
                name="«Дәмді ас» ЖШС",
                iban="KZ86125KZT5004100100",
                bank_bik="KCJBKZKX",
                bank_name="Halyk",
            )
            s.add(supplier)
            s.flush()
            for n, name in ((12, "№ 12 мектеп"), (47, "№ 47 мектеп-лицей")):
                school = School(
                    bin=f"0505400{n:05d}",
                    name=name,
                    region="Алматы",
                    district=DISTRICT,
                    supplier_id=supplier.id,
                )
                s.add(school)
                s.flush()
                self.schools.append(school.id)
                self.bins.append(school.bin)
                set_slots(uow, school.id, [SlotTime(1, *LUNCH)])
            add_tariff(uow, Tariff(None, 1, 1, date(2026, 9, 1), FULL, FULL))
            add_tariff(uow, Tariff(None, 2, 1, date(2026, 9, 1), FULL, STATE))
            district = create_admin(
                s, login="district", password=D.PASSWORD, role=Role.DISTRICT_ADMIN, district=DISTRICT
            )
            admins = []
            for school_id in self.schools:
                admins.append(
                    {
                        role.value: create_admin(
                            s,
                            login=f"{role.value}.{school_id}",
                            password=D.PASSWORD,
                            role=role,
                            school_ids=(school_id,),
                        )
                        for role in (Role.SOCIAL_PEDAGOGUE, Role.SCHOOL_HEAD, Role.SUPPLIER, Role.TECHNICIAN)
                    }
                )
            s.flush()
            self.district = admin_principal(s, district)
            self.staff = [{k: admin_principal(s, a) for k, a in row.items()} for row in admins]
            for school_id in self.schools:
                key = SigningKey.generate()
                code = create_enrolment_code(uow, school_id=school_id, canteen_id=1, admin_id=None, now=now)
                t = enrol(
                    uow,
                    code=code.code,
                    public_key=key.public.raw.hex(),
                    hostname="canteen",
                    software_version="demo",
                    now=now,
                )
                s.flush()
                self.canteens[school_id] = _Canteen(t.id, key)
            uow.commit()
        with self.uow() as uow:
            put_category(
                uow,
                EMERGENCY,
                name_kk="Төтенше жағдайдан зардап шеккен отбасылар",
                name_ru="Семьи, пострадавшие от ЧС",
                plan=2,
                in_register=False,
                active=True,
            )
        self._import_people()
        self.line(
            f"district {DISTRICT}: schools {', '.join(self.bins)}, one supplier, "
            f"{len(self.pupil)} pupils in {len(self.parent)} families; a district category "
            f"'{EMERGENCY}' gives the discounted plan"
        )

    def _import_people(self) -> None:
        now = self.clock.now()
        parents = [["iin", "full_name", "phone", "language"]]
        pupils = [["iin", "full_name", "grade", "class_name", "school_bin"]]
        links = [["pupil_iin", "parent_iin", "role"]]
        piin = {k: _iin(700_000 + 10 * i) for i, k in enumerate(PARENTS)}
        for k, (name, phone, _) in PARENTS.items():
            parents.append([piin[k], name, phone or "", "kk+ru"])
        for i, (name, grade, cls, school, par, category) in enumerate(CHILDREN.values()):
            iin = _iin(600_000 + 10 * i)
            pupils.append([iin, name, str(grade), cls, self.bins[school]])
            links.append([iin, piin[par], PARENTS[par][2]])
            if category is not None and category != EMERGENCY:
                self.registry.add(CategoryRecord(iin, category, date(2026, 1, 1), date(2028, 8, 31)))
        for kind, rows in (
            (ImportKind.PARENTS, parents),
            (ImportKind.PUPILS, pupils),
            (ImportKind.LINKS, links),
        ):
            self._import(kind, rows, now)
        with self.uow() as uow:
            for k, (name, *_) in CHILDREN.items():
                self.pupil[k] = uow.session.scalars(select(Pupil.id).where(Pupil.full_name == name)).one()
            for k, (name, _, _) in PARENTS.items():
                self.parent[k] = uow.session.scalars(select(Parent.id).where(Parent.full_name == name)).one()

    def _import(self, kind: ImportKind, rows: list[list[str]], now: datetime) -> int:
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        with self.uow() as uow:
            report = run_import(
                uow,
                kind,
                buf.getvalue().encode(),
                f"{kind.value}.csv",
                actor="import",
                settings=self.settings,
                now=now,
                scope=self.district,
            )
            uow.commit()
        if report.rejected:
            raise RuntimeError(f"import {kind}: {report.rejected}")
        return report.moved or report.resumed

    # --- each month -------------------------------------------------------------------------------------
    def listed(self, month: date) -> tuple[list[str], list[str]]:
        early, back = month < date(2026, 12, 1), month >= date(2027, 2, 1)
        on_a = (
            (["aigerim"] if early else [])
            + (["daniyar"] if early or back else [])
            + ["timur", "madina", "ruslan"]
        )
        on_b = ["alina", "yerlan"] + ([] if early else ["aigerim"])
        return on_a, on_b

    def run_list(
        self, i: int, children: list[str], month: date, *, return_once: bool = False
    ) -> campaign.CheckSummary:
        st, now = self.staff[i], self.clock.now()
        with self.uow() as uow:
            lst = lists.create_list(uow, st["social_pedagogue"], self.schools[i], month)
            for c in children:
                lists.add_entry(uow, st["social_pedagogue"], lst.id, self.pupil[c], CHILDREN[c][5])
            lists.approve(uow, st["school_head"], lst.id, now)
            if return_once:
                lists.return_list(
                    uow, st["school_head"], lst.id, "6Б: check the category of the new pupil", now
                )
                lists.approve(uow, st["school_head"], lst.id, now)
            return campaign.check(
                uow, st["school_head"], lst.id, registry=self.registry, settings=self.settings, now=now
            )

    def reply(self, who: str, text: str) -> str:
        phone = ZHANAR_PHONE if who == "zhanar" else PARENTS[who][1]
        assert phone is not None
        with self.uow() as uow:
            out = handle_reply(uow, phone=phone, text=text, settings=self.settings, now=self.clock.now())
            uow.commit()
        return out.outcome

    def activate_all(self) -> int:
        n = 0
        with self.uow() as uow:
            for child, pid in self.pupil.items():
                v = uow.session.scalars(
                    select(Voucher).where(Voucher.pupil_id == pid).order_by(Voucher.school_year.desc())
                ).first()
                if v is not None and v.status == "awaiting_activation":
                    par = CHILDREN[child][4]
                    who = Principal("parent", self.parent[par], pupil_ids=frozenset({pid}))
                    activate(uow, who, v.id, self.clock.now())
                    n += 1
            uow.commit()
        return n

    def serve(self, day: date) -> int:
        """Every active voucher eats lunch at its school; each terminal uploads its batch after lunch."""
        self.clock.set(_at(day, 14, 5))
        with self.uow() as uow:
            active = uow.session.execute(
                select(Voucher.id, Voucher.school_id).where(Voucher.status == "active").order_by(Voucher.id)
            ).all()
        served = 0
        for school_id in self.schools:
            meals = [(vid, _at(day, 12, 30)) for vid, sid in active if sid == school_id]
            if meals:
                served += self.upload(school_id, meals)
        return served

    def upload(self, school_id: int, meals: list[tuple[int, datetime]]) -> int:
        body, headers = self.canteens[school_id].batch(meals, self.clock.now())
        r = self.http.post("/api/terminal/v1/meal-batches", content=body, headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"batch refused: {r.status_code} {r.text[:200]}")
        self.result.flagged += r.json()["flagged"]
        return int(r.json()["accepted"])

    def states(self, year: int = 2026) -> dict[str, str]:
        out = {}
        with self.uow() as uow:
            for child, pid in self.pupil.items():
                v = uow.session.scalars(
                    select(Voucher).where(Voucher.pupil_id == pid, Voucher.school_year == year)
                ).first()
                out[child] = (
                    "—" if v is None else f"{v.status[:3]} {self.bins[self.schools.index(v.school_id)][-2:]}"
                )
        return out

    def month(self, month: date) -> None:
        self.clock.set(_at(month + timedelta(days=1), 8))
        tick(self.ctx)  # the worker's morning: last month's acts, yesterday's report, appeals
        on_a, on_b = self.listed(month)
        first = self.run_list(0, on_a, month, return_once=month == date(2026, 10, 1))
        second = self.run_list(1, on_b, month)
        notes = []
        if month == MONTHS[0]:
            answers = {
                who: self.reply(who, "3#2" if who == "sergey" else "3#1")
                for who in ("gulnara", "saule", "sergey", "aliya")
            }
            notes.append("replies " + ", ".join(f"{k} {v}" for k, v in answers.items()))
        if first.suspended + second.suspended:
            notes.append(f"{first.suspended + second.suspended} suspended (not on the list)")
        if first.consent.remembered:
            notes.append(f"{first.consent.remembered} decline remembered, not asked again")
        activated = self.activate_all()
        if month == date(2026, 10, 1):
            self.september_money()
            notes.append(
                "05.10 school 12's September timesheet submitted and signed (v1); a batch of 25.09 "
                "arrives after the signature"
            )
        day1, day2 = _weekday(month.replace(day=10)), _weekday(month.replace(day=20))
        with self.uow() as uow:
            for i, school_id in enumerate(self.schools):
                publish(
                    uow,
                    self.staff[i]["school_head"],
                    school_id,
                    day1,
                    1,
                    [{"kk": "Палау", "ru": "Плов"}, {"kk": "Сүт", "ru": "Молоко", "allergens": ["milk"]}],
                    self.clock.now(),
                )
        served = self.serve(day1)
        if month == date(2026, 9, 1):
            with self.uow() as uow:
                who = Principal("parent", self.parent["saule"], pupil_ids=frozenset({self.pupil["daniyar"]}))
                filed = file_complaint(
                    uow,
                    who,
                    self.pupil["daniyar"],
                    "Палау суық болды / плов был холодный",
                    event_id=None,
                    now=self.clock.now(),
                ).id
            assert self.district is not None
            with self.uow() as uow:  # the district sends it on to e-Otinish
                forward(uow, self.district, filed, now=self.clock.now())
        if month == date(2026, 10, 1):
            self.clock.set(_at(date(2026, 10, 13)))
            row = [["iin", "full_name", "phone", "language"]]
            with self.uow() as uow:
                p = uow.session.get(Parent, self.parent["zhanar"])
                assert p is not None
                row.append([p.iin, p.full_name, ZHANAR_PHONE, "kk+ru"])
            resumed = self._import(ImportKind.PARENTS, row, self.clock.now())
            notes.append(
                f"13.10 Zhanar's phone arrives by import: {resumed} request sent, reply {self.reply('zhanar', '3#1')}"
            )
            activated += self.activate_all()
        if month == date(2026, 11, 1):
            self.clock.set(_at(date(2026, 11, 15)))
            with self.uow() as uow:
                m = uow.session.get(Pupil, self.pupil["aigerim"])
                assert m is not None
                row = [
                    ["iin", "full_name", "grade", "class_name", "school_bin"],
                    [m.iin, m.full_name, "6", "6А", self.bins[1]],
                ]
            moved = self._import(ImportKind.PUPILS, row, self.clock.now())
            notes.append(f"15.11 Aigerim moves to school {self.bins[1][-2:]}: {moved} voucher follows her")
        served += self.serve(day2)
        self.clock.set(_at(day2 + timedelta(days=1), 8))
        tick(self.ctx)
        self.result.states[f"{month:%Y-%m}"] = self.states()
        self.line(
            f"{month:%Y-%m}: lists {len(on_a)}+{len(on_b)}, {activated} activated, {served} lunches on "
            f"{day1:%d.%m} and {day2:%d.%m}" + (f"; {'; '.join(notes)}" if notes else "")
        )

    # --- money ------------------------------------------------------------------------------------------
    def september_money(self) -> None:
        """September's steps at school 12: the late batch after the head signed makes version 2."""
        sept, a = MONTHS[0], self.schools[0]
        st = self.staff[0]
        self.clock.set(_at(date(2026, 10, 5), 10))
        with self.uow() as uow:
            steps.advance(uow, st["social_pedagogue"], a, sept, 1, steps.Step.SUBMITTED, self.clock.now())
            steps.advance(uow, st["school_head"], a, sept, 1, steps.Step.HEAD_SIGNED, self.clock.now())
            v = uow.session.scalars(select(Voucher.id).where(Voucher.pupil_id == self.pupil["daniyar"])).one()
        # the terminal was offline on the afternoon of 25.09: its batch arrives after the signature
        self.clock.set(_at(date(2026, 10, 5), 10, 5))
        self.upload(a, [(v, _at(date(2026, 9, 25), 12, 30))])

    def close_months(self) -> None:
        """Every act of every month through its steps; the district's register of each month."""
        self.clock.set(_at(date(2027, 6, 10), 10))
        tick(self.ctx)
        folder = self.dir / "payment-register"
        folder.mkdir(parents=True, exist_ok=True)
        for month in MONTHS:
            with self.uow() as uow:
                acts = steps.states(uow.session, self.schools, month, self.clock.now())
            for act in acts:
                i = self.schools.index(act.school_id)
                for role, step in (
                    ("social_pedagogue", "submitted"),
                    ("school_head", "head_signed"),
                    ("supplier", "supplier_signed"),
                ):
                    if step not in [d[0] for d in act.done]:
                        with self.uow() as uow:
                            steps.advance(
                                uow,
                                self.staff[i][role],
                                act.school_id,
                                month,
                                act.version,
                                steps.Step(step),
                                self.clock.now(),
                            )
                with self.uow() as uow:
                    assert self.district is not None
                    steps.advance(
                        uow,
                        self.district,
                        act.school_id,
                        month,
                        act.version,
                        steps.Step.DISTRICT_ACCEPTED,
                        self.clock.now(),
                    )
            with self.uow() as uow:
                reg = register.produce(uow, DISTRICT, month, self.clock.now())
            for ext, body in (("json", register.to_json_bytes(reg)), ("csv", register.to_csv(reg))):
                path = folder / f"register-{month:%Y-%m}.{ext}"
                path.write_bytes(body)
                self.result.register_files.append(path)
            if month == MONTHS[0]:
                self.result.register_lines = [
                    (ln.school_bin, ln.act_version, ln.meals, ln.state_tiyn, ln.family_tiyn)
                    for ln in reg.lines
                ]
            meals = sum(ln.meals for ln in reg.lines)
            self.result.months[f"{month:%Y-%m}"] = (meals, reg.state_tiyn, reg.family_tiyn)
        with self.uow() as uow:
            versions = steps.states(uow.session, [self.schools[0]], MONTHS[0], self.clock.now())
        self.line(
            f"September at school 12 is paid as version {versions[0].version}: the late batch made a new "
            "version, signed again by the pedagogue, the head, the supplier and the district"
        )
        self.line("month     lunches  the state pays      families pay")
        for m, (meals, state, fam) in self.result.months.items():
            self.line(f"{m}   {meals:>5}   {_tenge(state):>16}   {_tenge(fam):>14}")
        self.line(f"registers (CSV and JSON, sm-payment-register/1): {folder}")

    def summer_and_next_year(self) -> None:
        self.clock.set(_at(date(2027, 7, 15)))
        tick(self.ctx)
        with self.uow() as uow:
            self.result.summer_allowlisted = sum(
                len(bundle_content(uow.session, s, self.clock.now()).entries) for s in self.schools
            )
            summer = sum(
                a.meals
                for m in (6, 7, 8)
                for a in compute_acts(uow.session, self.schools, date(2027, m, 1)).values()
            )
        self.line(
            f"summer: vouchers expired on 31.05; {self.result.summer_allowlisted} on any allowlist, "
            f"{summer} lunches billed"
        )
        self.clock.set(_at(date(2027, 9, 2)))
        next_a = ["daniyar", "timur", "madina", "ruslan"]
        first, second = (
            self.run_list(0, next_a, date(2027, 9, 1)),
            self.run_list(1, ["aigerim", "alina", "yerlan"], date(2027, 9, 1)),
        )
        self.result.next_year_requests = first.consent.requests + second.consent.requests
        self.result.next_year_vouchers = first.vouchers_formed + second.vouchers_formed
        self.line(
            f"September 2027: {self.result.next_year_requests} consent requests (last year's decline and "
            f"consents do not carry over), {self.result.next_year_vouchers} voucher formed for grade 2"
        )

    def state_systems(self) -> None:
        with self.uow() as uow:
            from backend.delivery.services import deliveries
            from backend.feedback.tables import ComplaintRow

            reports = deliveries(uow.session, "daily_report")
            self.result.reports_delivered = sum(1 for d in reports if d.status == "delivered")
            self.result.appeal_status = uow.session.scalars(select(ComplaintRow.status)).one()
            for k, par in PARENTS.items():
                phone = ZHANAR_PHONE if k == "zhanar" else par[1]
                self.result.sms[k] = (
                    uow.session.scalar(
                        select(func.count()).where(SmsMessage.phone == phone, SmsMessage.direction == "out")
                    )
                    or 0
                )
        self.line(
            f"daily reports to the national education database: {self.result.reports_delivered} delivered by "
            f"file drop to {self.dir / 'to-nedb'}, each receipted"
        )
        self.line(f"Saule's complaint about cold plov: {self.result.appeal_status} (e-Otinish file drop)")
        self.line(
            "SMS per parent over the two Septembers: "
            + ", ".join(f"{k} {n}" for k, n in self.result.sms.items())
        )

    def close(self) -> None:
        self.http.close()
        self.ctx.engine.dispose()


def tell(out_dir: Path, line: Callable[[str], None]) -> YearResult:
    year = SchoolYear(out_dir, line)
    try:
        year.setup()
        for month in MONTHS:
            year.month(month)
        year.close_months()
        year.summer_and_next_year()
        year.state_systems()
        states = year.result.states
        line("voucher states, month by month (act: active, sus: suspended; the school's number):")
        line("  " + " " * 8 + " ".join(f"{m[2:]:<7}" for m in states))
        for child in CHILDREN:
            line(f"  {child:<8}" + " ".join(f"{states[m][child]:<7}" for m in states))
    finally:
        year.close()
    return year.result
