"""Back-end fixtures shared by the wallet, operations and reporting suites.

Database
- `backend_url`: a migrated (Alembic head) database, parametrized: `sqlite` (a copy of a file migrated
  once per run) and `postgres` (marked postgres; one database migrated once per run, emptied and its
  sequences restarted before each test).
- `sqlite_url`: the SQLite variant only, for tests that need not run twice.

Application
- `clock`: FixedClock at 2026-09-14 08:00 Asia/Almaty (a Monday); `.set()` / `.advance()` move it.
- `settings`, `app` (create_app with the outbox SMS gateway writing `tmp_path/outbox.jsonl`), `ctx`
  (the AppContext), `client` (fastapi TestClient), `uow_factory()` → UnitOfWork.

Factories (each commits and returns the new row's id)
- `make_school(district="Almaly", name=None, bin=None)`
- `make_pupil(school_id, grade=5, class_name=None, full_name=None, iin=None)`
- `make_parent(phone="+7701...", full_name=None, iin=None, language="kk+ru")`; `phone=None` for none on record
- `link(pupil_id, parent_id, role="mother")`
- `admin_token(role, school_ids=(), district=None)` → (admin_id, "Bearer ..." header dict)
- `parent_token(parent_id)` → header dict for a parent session
- `sent_sms()` → list of (phone, kind, body) of outgoing messages, oldest first, as the outbox stores
  them (one-time codes masked)
- `delivered_sms()` → list of (phone, body) the SMS gateway was handed, oldest first (codes readable)
- `registered(pupil_id, category=..., valid_to=...)` puts a pupil in the in-memory state register
"""

from __future__ import annotations

import itertools
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.adapters.sms_gateways import OutboxGateway
from backend.adapters.state_registry import CategoryRecord, InMemoryRegistry
from backend.app import create_app
from backend.auth.model import Role
from backend.auth.services import open_session
from backend.auth.testing import make_admin
from backend.clock import KZ_TZ, FixedClock
from backend.config import Settings
from backend.context import AppContext
from backend.db import init_schema
from backend.eligibility.model import Category
from backend.roster.iin import make_iin
from backend.roster.pseudonym import display_for, pseudonym_for
from backend.roster.tables import Guardianship, Parent, Pupil, School
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork

START = datetime(2026, 9, 14, 8, 0, tzinfo=KZ_TZ)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    init_schema(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_template(postgres_url: str) -> Iterator[str]:
    """Name of the run's migrated PostgreSQL database."""
    import psycopg

    admin = postgres_url.replace("+psycopg", "")
    name = f"sm_tmpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_url.rsplit("/", 1)[0]
    try:
        init_schema(f"{base}/{name}")
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "backend.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A migrated PostgreSQL database, emptied before the test (one database per run, not per test:
    emptying is far cheaper than CREATE/DROP DATABASE)."""
    import psycopg

    postgres_url: str = request.getfixturevalue("postgres_url")
    name: str = request.getfixturevalue("_pg_template")
    url = f"{postgres_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        # connections a previous test left behind would block the clean-up
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        # DELETE with FK triggers off beats TRUNCATE (which rewrites every table's files) on small data
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ).fetchall():
                conn.execute(f'DELETE FROM "{table}"')
            for (seq,) in conn.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall():
                conn.execute(f'ALTER SEQUENCE "{seq}" RESTART')
    # Tests need no durability: skipping the WAL flush on commit makes the PostgreSQL suite much faster.
    return url + "?options=-csynchronous_commit%3Doff"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(backend_url: str, tmp_path: Path) -> Settings:
    # The terminal map off: these suites assert what the database says at once; the map's own bound is
    # tested with its own clock (tests/backend/operations/test_allowlist_not_modified.py).
    return Settings(
        database_url=backend_url,
        key_dir=tmp_path / "keys",
        sms_outbox_file=tmp_path / "outbox.jsonl",
        allowlist_map_seconds=0,
    )


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[FastAPI]:
    application = create_app(settings, clock=clock, sms=OutboxGateway(settings.sms_outbox_file))
    yield application
    application.state.ctx.engine.dispose()


@pytest.fixture
def ctx(app: FastAPI) -> AppContext:
    c = app.state.ctx
    assert isinstance(c, AppContext)
    return c


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def uow_factory(ctx: AppContext) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(ctx.session_factory)


_numbers = itertools.count(1)


def _iin(n: int) -> str:
    while True:
        iin = make_iin(f"1{n:010d}")
        if iin is not None:
            return iin
        n += 1_000_000


@pytest.fixture
def make_school(uow_factory: Callable[[], UnitOfWork]) -> Callable[..., int]:
    def factory(district: str = "Almaly", name: str | None = None, bin: str | None = None) -> int:
        n = next(_numbers)
        with uow_factory() as uow:
            school = School(
                bin=bin or f"{n:012d}", name=name or f"School No. {n}", region="Almaty", district=district
            )
            uow.session.add(school)
            uow.commit()
            return school.id

    return factory


@pytest.fixture
def make_pupil(uow_factory: Callable[[], UnitOfWork], settings: Settings) -> Callable[..., int]:
    def factory(
        school_id: int,
        grade: int = 5,
        class_name: str | None = None,
        full_name: str | None = None,
        iin: str | None = None,
    ) -> int:
        n = next(_numbers)
        iin = iin or _iin(n * 7919)
        full_name = full_name or f"Pupil{n} Test"
        class_name = class_name or f"{grade}A"
        with uow_factory() as uow:
            pupil = Pupil(
                iin=iin,
                full_name=full_name,
                grade=grade,
                class_name=class_name,
                school_id=school_id,
                pseudonym=pseudonym_for(settings.pseudonym_secret, iin),
                display=display_for(full_name, class_name),
            )
            uow.session.add(pupil)
            uow.commit()
            return pupil.id

    return factory


@pytest.fixture
def make_parent(uow_factory: Callable[[], UnitOfWork]) -> Callable[..., int]:
    def factory(
        phone: str | None = "auto",
        full_name: str | None = None,
        iin: str | None = None,
        language: str = "kk+ru",
    ) -> int:
        n = next(_numbers)
        with uow_factory() as uow:
            parent = Parent(
                iin=iin or _iin(n * 7919 + 3),
                full_name=full_name or f"Parent{n} Test",
                phone=f"+7701{n:07d}" if phone == "auto" else phone,
                language=language,
            )
            uow.session.add(parent)
            uow.commit()
            return parent.id

    return factory


@pytest.fixture
def link(uow_factory: Callable[[], UnitOfWork]) -> Callable[..., None]:
    def factory(pupil_id: int, parent_id: int, role: str = "mother") -> None:
        with uow_factory() as uow:
            uow.session.add(Guardianship(pupil_id=pupil_id, parent_id=parent_id, role=role))
            uow.commit()

    return factory


@pytest.fixture
def admin_token(
    uow_factory: Callable[[], UnitOfWork], clock: FixedClock
) -> Callable[..., tuple[int, dict[str, str]]]:
    def factory(
        role: Role, school_ids: tuple[int, ...] = (), district: str | None = None
    ) -> tuple[int, dict[str, str]]:
        with uow_factory() as uow:
            admin_id, token = make_admin(uow.session, role, school_ids, district, now=clock.now())
            uow.commit()
        return admin_id, {"Authorization": f"Bearer {token}"}

    return factory


@pytest.fixture
def parent_token(uow_factory: Callable[[], UnitOfWork], clock: FixedClock) -> Callable[[int], dict[str, str]]:
    def factory(parent_id: int) -> dict[str, str]:
        with uow_factory() as uow:
            token = open_session(
                uow.session, kind="parent", subject_id=parent_id, now=clock.now(), ttl=timedelta(days=365)
            )
            uow.commit()
        return {"Authorization": f"Bearer {token}"}

    return factory


@pytest.fixture
def sent_sms(uow_factory: Callable[[], UnitOfWork]) -> Callable[[], list[tuple[str, str, str]]]:
    def read() -> list[tuple[str, str, str]]:
        with uow_factory() as uow:
            rows: Any = uow.session.execute(
                select(SmsMessage.phone, SmsMessage.kind, SmsMessage.body)
                .where(SmsMessage.direction == "out")
                .order_by(SmsMessage.id)
            ).all()
            return [(r[0], r[1], r[2]) for r in rows]

    return read


@pytest.fixture
def delivered_sms(settings: Settings) -> Callable[[], list[tuple[str, str]]]:
    def read() -> list[tuple[str, str]]:
        path = settings.sms_outbox_file
        if path is None or not path.exists():
            return []
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [(m["phone"], m["body"]) for m in lines]

    return read


@pytest.fixture
def registered(ctx: AppContext) -> Callable[..., None]:
    def add(
        pupil_id: int, category: Category = Category.TARGETED_ASSISTANCE, valid_to: date = date(2027, 5, 31)
    ) -> None:
        assert isinstance(ctx.registry, InMemoryRegistry)
        with ctx.session_factory() as s:
            pupil = s.get(Pupil, pupil_id)
            assert pupil is not None
            ctx.registry.add(CategoryRecord(pupil.iin, category, date(2026, 1, 1), valid_to))

    return add
