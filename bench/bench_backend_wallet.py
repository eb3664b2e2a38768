"""Wallet figures: dynamic QR tokens issued per second, and the time to form vouchers and consent
requests for a district of 100,000 pupils.

Writes bench/results/backend_wallet.json.

QR: a parent with QR_VOUCHERS active vouchers asks for tokens in turn. Measured: Ed25519 signing alone;
the service (`issue_qr`: row lock, serial bump, signature, commit) on SQLite and PostgreSQL; and the
HTTP endpoint through FastAPI's TestClient (in-process, no network) on SQLite.

District: SCHOOLS schools × PUPILS_PER_SCHOOL pupils, grades 1–11 spread evenly (so 4/11 are grades 1–4,
vouchers formed directly, and 7/11 grades 5–11, SMS consent), families of 1–3 children with a mother
(5 % without a phone) and a father, 1 % of pupils with no parent linked. Every pupil is on the school's
approved monthly list and in the state register. Set-up (bulk inserts, not timed) then timed: the
cross-check of every school's list, which writes the vouchers with their audit rows, one consent request
per parent with its SMS in the outbox and its reminder timer, and the NO_PHONE / UNLINKED records.
Goal: under 60 s per database.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.bulk import bulk_insert
from backend.adapters.sms_gateways import OutboxGateway
from backend.adapters.state_registry import CategoryRecord, InMemoryRegistry
from backend.app import create_app
from backend.auth.model import Principal, Role
from backend.auth.services import open_session
from backend.campaign.services import check
from backend.clock import KZ_TZ, FixedClock
from backend.config import Settings
from backend.consent.tables import ConsentIssue, ConsentRequest
from backend.context import AppContext
from backend.db import init_schema
from backend.eligibility.model import Category
from backend.eligibility.tables import EligibilityEntry, EligibilityList
from backend.keys import KeyStore
from backend.roster.iin import make_iin
from backend.roster.pseudonym import display_for, pseudonym_for
from backend.roster.tables import Guardianship, Parent, Pupil, School
from backend.sms.tables import SmsMessage
from backend.timers.tables import ScheduledJob
from backend.unit_of_work import UnitOfWork
from backend.vouchers.services import issue_qr
from backend.vouchers.tables import Voucher, VoucherEvent
from shared_crypto import KeyRole, VoucherToken, issue_qr_text

from .serving import fresh_database, pg_base_url, write_results

START = datetime(2026, 9, 14, 8, 0, tzinfo=KZ_TZ)
SCHOOLS = 100
PUPILS_PER_SCHOOL = 1000
QR_VOUCHERS = 50
QR_SERVICE_N = 2000
QR_HTTP_N = 500
QR_SIGN_N = 5000
GOAL_S = 60.0


def _iins(n: int, prefix: str) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < n:
        iin = make_iin(f"{prefix}{i:09d}")
        if iin is not None:
            out.append(iin)
        i += 1
    return out


def _seed_district(sf: sessionmaker[Session], secret: bytes, registry: InMemoryRegistry) -> dict[str, int]:
    """Bulk inserts: schools, pupils, parents, links, approved lists with every pupil. Not timed."""
    n = SCHOOLS * PUPILS_PER_SCHOOL
    pupil_iins = _iins(n, "10")
    with sf() as s, s.begin():
        school_ids = _insert_ids(
            s,
            School,
            [
                {"bin": f"{i:012d}", "name": f"School {i}", "region": "Almaty", "district": "Bench"}
                for i in range(1, SCHOOLS + 1)
            ],
        )
        pupil_rows = []
        for k, iin in enumerate(pupil_iins):
            grade = k % 11 + 1
            cls = f"{grade}{'АБВГ'[k % 4]}"
            name = f"Оқушы{k} Тест"
            pupil_rows.append(
                {
                    "iin": iin,
                    "full_name": name,
                    "grade": grade,
                    "class_name": cls,
                    "school_id": school_ids[k // PUPILS_PER_SCHOOL],
                    "pseudonym": pseudonym_for(secret, iin),
                    "display": display_for(name, cls),
                }
            )
        pupil_ids = _insert_ids(s, Pupil, pupil_rows)
        # families of 1, 2, 3 children in turn, within one school; 1 % of pupils unlinked
        families: list[list[int]] = []
        k = 0
        size = 1
        while k < n:
            end = min(k + size, (k // PUPILS_PER_SCHOOL + 1) * PUPILS_PER_SCHOOL)
            families.append(pupil_ids[k:end])
            k = end
            size = size % 3 + 1
        parent_iins = _iins(2 * len(families), "20")
        parent_rows = []
        for f in range(len(families)):
            mother_phone = None if f % 20 == 0 else f"+7701{f:07d}"
            parent_rows.append(
                {
                    "iin": parent_iins[2 * f],
                    "full_name": f"Ана{f}",
                    "phone": mother_phone,
                    "language": "kk+ru",
                }
            )
            parent_rows.append(
                {"iin": parent_iins[2 * f + 1], "full_name": f"Әке{f}", "phone": None, "language": "kk+ru"}
            )
        parent_ids = _insert_ids(s, Parent, parent_rows)
        links = []
        for f, kids in enumerate(families):
            for kid in kids:
                if kid % 100 == 0:
                    continue  # no parent linked in the state records
                links.append({"pupil_id": kid, "parent_id": parent_ids[2 * f], "role": "mother"})
                links.append({"pupil_id": kid, "parent_id": parent_ids[2 * f + 1], "role": "father"})
        bulk_insert(s, Guardianship, links)
        list_ids = _insert_ids(
            s,
            EligibilityList,
            [
                {
                    "school_id": sid,
                    "month": date(2026, 9, 1),
                    "status": "approved",
                    "created_by": 1,
                    "approved_by": 2,
                }
                for sid in school_ids
            ],
        )
        entries = []
        for k, pid in enumerate(pupil_ids):
            grade = k % 11 + 1
            cat = Category.TARGETED_ASSISTANCE if grade > 4 else None
            entries.append({"list_id": list_ids[k // PUPILS_PER_SCHOOL], "pupil_id": pid, "category": cat})
            if cat is not None:
                registry.add(CategoryRecord(pupil_iins[k], cat, date(2026, 1, 1), date(2027, 5, 31)))
        bulk_insert(s, EligibilityEntry, entries)
    return {"pupils": n, "parents": len(parent_rows), "families": len(families), "lists": len(list_ids)}


def _insert_ids(s: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Executemany, then the new ids in insertion order (fresh database: ids rise with insertion)."""
    before = s.scalar(select(func.max(model.id))) or 0
    bulk_insert(s, model, rows)
    return list(s.scalars(select(model.id).where(model.id > before).order_by(model.id)))


def _count(sf: sessionmaker[Session], model: Any, *where: Any) -> int:
    with sf() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def bench_district(url: str, key_dir: Path) -> dict[str, Any]:
    init_schema(url)
    clock = FixedClock(START)
    settings = Settings(database_url=url, key_dir=key_dir)
    registry = InMemoryRegistry()
    app = create_app(settings, clock=clock, sms=OutboxGateway(None), registry=registry)
    ctx: AppContext = app.state.ctx
    t0 = time.perf_counter()
    seeded = _seed_district(ctx.session_factory, settings.pseudonym_secret, registry)
    setup_s = time.perf_counter() - t0
    with ctx.session_factory() as s:
        list_ids = list(s.scalars(select(EligibilityList.id).order_by(EligibilityList.id)))
        schools = frozenset(s.scalars(select(School.id)))
    district = Principal(kind="admin", id=1, role=Role.DISTRICT_ADMIN, district="Bench", school_ids=schools)
    t0 = time.perf_counter()
    for list_id in list_ids:
        with UnitOfWork(ctx.session_factory) as uow:
            check(uow, district, list_id, registry=registry, settings=settings, now=clock.now())
    form_s = time.perf_counter() - t0
    sf = ctx.session_factory
    result = {
        **seeded,
        "setup_s": round(setup_s, 2),
        "form_s": round(form_s, 2),
        "pupils_per_s": round(seeded["pupils"] / form_s),
        "vouchers_formed": _count(sf, Voucher),
        "voucher_events": _count(sf, VoucherEvent),
        "consent_requests": _count(sf, ConsentRequest),
        "sms_queued": _count(sf, SmsMessage, SmsMessage.kind == "request"),
        "reminder_timers": _count(sf, ScheduledJob, ScheduledJob.kind == "consent.remind"),
        "no_phone": _count(sf, ConsentIssue, ConsentIssue.reason == "NO_PHONE"),
        "unlinked": _count(sf, ConsentIssue, ConsentIssue.reason == "UNLINKED"),
        "goal_s": GOAL_S,
        "meets_goal": form_s < GOAL_S,
    }
    ctx.engine.dispose()
    return result


def _seed_qr(ctx: AppContext) -> tuple[Principal, list[int], str]:
    now = ctx.clock.now()
    with ctx.session_factory() as s, s.begin():
        school = School(bin="999999999999", name="QR school", region="Almaty", district="Bench")
        parent = Parent(iin="000000000000", full_name="QR parent", phone="+77010000000", language="kk+ru")
        s.add_all([school, parent])
        s.flush()
        pupils = [
            Pupil(
                iin=f"{i:012d}",
                full_name=f"Child {i}",
                grade=2,
                class_name="2A",
                school_id=school.id,
                pseudonym=pseudonym_for(b"q", str(i)),
                display="C. 2A",
            )
            for i in range(1, QR_VOUCHERS + 1)
        ]
        s.add_all(pupils)
        s.flush()
        s.add_all(Guardianship(pupil_id=p.id, parent_id=parent.id, role="mother") for p in pupils)
        vouchers = [
            Voucher(
                pupil_id=p.id,
                school_id=school.id,
                school_year=2026,
                plan=1,
                status="active",
                valid_until=date(2027, 5, 31),
                min_serial=0,
                next_serial=1,
                updated_at=now,
            )
            for p in pupils
        ]
        s.add_all(vouchers)
        s.flush()
        token = open_session(s, kind="parent", subject_id=parent.id, now=now, ttl=timedelta(days=1))
        principal = Principal(
            kind="parent",
            id=parent.id,
            school_ids=frozenset({school.id}),
            pupil_ids=frozenset(p.id for p in pupils),
        )
        return principal, [v.id for v in vouchers], token


def _rate(n: int, fn: Callable[[int], object]) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return round(n / (time.perf_counter() - t0))


def bench_qr(url: str, key_dir: Path, *, http: bool) -> dict[str, Any]:
    init_schema(url)
    clock = FixedClock(START)
    settings = Settings(database_url=url, key_dir=key_dir)
    app = create_app(settings, clock=clock, sms=OutboxGateway(None))
    ctx: AppContext = app.state.ctx
    principal, vouchers, token = _seed_qr(ctx)
    validity = timedelta(seconds=settings.qr_validity_seconds)

    def service(i: int) -> None:
        with UnitOfWork(ctx.session_factory) as uow:
            issue_qr(
                uow, ctx.keys, principal, vouchers[i % len(vouchers)], now=clock.now(), validity=validity
            )

    out: dict[str, Any] = {"service_tokens_per_s": _rate(QR_SERVICE_N, service)}
    if http:
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:

            def via_http(i: int) -> None:
                r = client.post(f"/api/parent/v1/vouchers/{vouchers[i % len(vouchers)]}/qr", headers=headers)
                assert r.status_code == 200, r.text

            out["http_tokens_per_s"] = _rate(QR_HTTP_N, via_http)
    ctx.engine.dispose()
    return out


def bench_signing(key_dir: Path) -> float:
    keys = KeyStore(key_dir, FixedClock(START))
    key = keys.signing_key(KeyRole.VOUCHER_ISSUER)
    nbf = int(START.timestamp())
    return _rate(
        QR_SIGN_N,
        lambda i: issue_qr_text(
            key,
            VoucherToken(voucher_id=i + 1, school_id=7, serial=i % 60000, plan=1, nbf=nbf, exp=nbf + 3600),
        ),
    )


def main(results_dir: Path) -> None:
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "district_size": SCHOOLS * PUPILS_PER_SCHOOL,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        results["qr"] = {"sign_only_tokens_per_s": bench_signing(t / "k0")}
        results["qr"]["sqlite"] = bench_qr(f"sqlite:///{t / 'qr.db'}", t / "k1", http=True)
        results["district"] = {"sqlite": bench_district(f"sqlite:///{t / 'district.db'}", t / "k2")}
        pg_runs: tuple[tuple[str, Callable[[str], dict[str, Any]]], ...] = (
            ("qr", lambda url: bench_qr(url, t / "k3", http=False)),
            ("district", lambda url: bench_district(url, t / "k4")),
        )
        for key, fn in pg_runs:
            db = fresh_database("sm_bench_wallet")
            if db is None:
                results[key]["postgresql"] = {"skipped": f"PostgreSQL unreachable at {pg_base_url()}"}
                continue
            url, drop = db
            try:
                results[key]["postgresql"] = fn(url)
            finally:
                drop()
    write_results(results_dir, "backend_wallet", results)


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
