"""Meal events and refusals by month: the worker keeps months ahead and applies the retention rule, month-
end and daily queries touch only their months' partitions, and every query on them names its school."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.app import create_app
from backend.billing import services as billing
from backend.clock import KZ_TZ, FixedClock
from backend.config import Settings
from backend.context import build_context
from backend.db import init_schema, make_engine, make_session_factory
from backend.ingest.partitions import MEALS, REFUSALS, Retention, attached, detached, maintain
from backend.ingest.queries import voucher_meals
from backend.ingest.tables import MealEventRow
from backend.reporting.services import daily_report
from backend.unit_of_work import UnitOfWork
from backend.worker import tick

from .seed import meal_batches, post_batch, seed_schools
from .sql_capture import capture, lacks_school_key

SEPT = datetime(2026, 9, 15, 12, 0, tzinfo=KZ_TZ)


def _meal(s: Any, n: int, day: date, school: int = 1) -> None:
    s.execute(
        text(
            "INSERT INTO meal_events (id, terminal_id, school_id, voucher_id, pupil_id, plan, slot, served_at,"
            " local_date, method, token_serial, wall_trusted, boot_id, seq, received_at, status, flags)"
            " VALUES (:id, 1, :school, NULL, NULL, 1, 1, :at, :day, 1, 1, true, :boot, :n, :at, 'ok', '[]')"
        ),
        {"id": n.to_bytes(16, "big"), "school": school, "boot": b"\0" * 16, "n": n, "day": day,
         "at": datetime(day.year, day.month, day.day, 7, tzinfo=UTC)},
    )  # fmt: skip


def _school_and_terminal(s: Any) -> None:
    s.execute(text("INSERT INTO schools (id, bin, name, region, district) VALUES (1, '1', 'S', 'A', 'D')"))
    s.execute(
        text(
            "INSERT INTO terminals (id, school_id, canteen_id, public_key, kid, hostname, status,"
            " software_version, backlog, faults, enrolled_at) VALUES (1, 1, 1, :k, :k, 'h', 'active', '1', 0,"
            " '[]', :at)"
        ),
        {"k": b"\1" * 32, "at": SEPT},
    )


def test_worker_keeps_months_ahead_and_detaches_past_retention(fresh_postgres_url: str) -> None:
    init_schema(fresh_postgres_url)
    factory = make_session_factory(make_engine(fresh_postgres_url))
    with UnitOfWork(factory) as uow:
        done = maintain(uow, SEPT)
        assert done.created > 0
        for p in (MEALS, REFUSALS):
            assert {date(2026, m, 1) for m in (8, 9, 10, 11, 12)} <= set(attached(uow.session, p))
        _school_and_terminal(uow.session)
        _meal(uow.session, 1, date(2026, 8, 20))
        _meal(uow.session, 2, date(2026, 9, 20))
        _meal(uow.session, 3, date(2027, 6, 1))  # a clock far ahead: the default partition takes it
        uow.commit()
    with UnitOfWork(factory) as uow:
        assert maintain(uow, SEPT).created == 0  # idempotent
    with UnitOfWork(factory) as uow:
        rule = Retention(meal_months=2, refusal_months=1, archive_years=1)
        done = maintain(uow, datetime(2026, 11, 2, tzinfo=KZ_TZ), rule)  # August is past two months
        s = uow.session
        assert done.detached >= 2
        assert date(2026, 8, 1) not in attached(s, MEALS)
        assert "meal_events_y2026m08" in detached(s)
        assert s.scalar(text("SELECT count(*) FROM meal_events")) == 2
        assert s.scalar(text("SELECT count(*) FROM partitions.meal_events_y2026m08")) == 1  # the archive
    with UnitOfWork(factory) as uow:  # June 2027's partition comes up: the default gives its row over
        maintain(uow, datetime(2027, 3, 2, tzinfo=KZ_TZ), Retention(archive_years=1))
        assert uow.session.scalar(text("SELECT count(*) FROM partitions.meal_events_y2027m06")) == 1
        assert uow.session.scalar(text("SELECT count(*) FROM partitions.meal_events_default")) == 0
    with UnitOfWork(factory) as uow:
        assert maintain(uow, datetime(2027, 9, 2, tzinfo=KZ_TZ), Retention(archive_years=1)).dropped >= 1
        assert "meal_events_y2026m08" not in detached(uow.session)


def test_sqlite_retention_deletes_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    init_schema(url)
    factory = make_session_factory(make_engine(url))
    with UnitOfWork(factory) as uow:
        _school_and_terminal(uow.session)
        _meal(uow.session, 1, date(2024, 5, 20))
        _meal(uow.session, 2, date(2026, 9, 1))
        assert maintain(uow, SEPT).deleted == 1  # 24 months: May 2024 goes, September 2026 stays
        assert [m.local_date for m in uow.session.query(MealEventRow)] == [date(2026, 9, 1)]


def _partitions_in_plan(conn: Any, statement: str, params: Any) -> set[str]:
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar()
    names = re.findall(r'"Relation Name": "([^"]+)"', json.dumps(plan))
    return {n for n in names if n.startswith(("meal_events", "meal_refusals"))}


def test_month_end_and_daily_queries_touch_only_their_partitions(fresh_postgres_url: str) -> None:
    init_schema(fresh_postgres_url)
    engine = make_engine(fresh_postgres_url)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        maintain(uow, SEPT)
        _school_and_terminal(uow.session)
        for n, day in enumerate([date(2026, 8, 3), date(2026, 9, 7), date(2026, 9, 8), date(2026, 10, 5)]):
            _meal(uow.session, n + 1, day)
        uow.commit()
    with capture() as month_end, factory() as s:
        billing.meal_counts(s, [1], date(2026, 9, 1))
        billing.pupil_day_counts(s, [1], date(2026, 9, 1))
        billing.held_counts(s, [1], date(2026, 9, 1))
    with capture() as daily, factory() as s:
        daily_report(s, date(2026, 9, 7), [1], SEPT)
    with engine.connect() as conn:
        for statement, params in month_end.on_large_tables() + daily.on_large_tables():
            assert _partitions_in_plan(conn, statement, params) == {"meal_events_y2026m09"}, statement
    assert len(month_end.on_large_tables()) == 3 and daily.on_large_tables()


def test_queries_on_large_tables_name_their_school(fresh_postgres_url: str, tmp_path: Path) -> None:
    """Ingestion through the API, a worker pass, the daily report, month-end figures and a history."""
    init_schema(fresh_postgres_url)
    [t] = seed_schools(fresh_postgres_url.replace("+psycopg", ""), 1, 10)
    today = datetime.now(UTC).astimezone(KZ_TZ).date()
    days = [today - timedelta(days=d) for d in (1, 2, 3) if (today - timedelta(days=d)).weekday() < 5]
    settings = Settings(database_url=fresh_postgres_url, key_dir=tmp_path / "keys")
    with capture() as seen:
        with TestClient(create_app(settings)) as client:
            for body, _ in meal_batches(t, days or [today], 5):
                assert post_batch(client, t, body).status_code == 200
                assert post_batch(client, t, body).json()["accepted"] == 0  # the retry
        ctx = build_context(settings, clock=FixedClock(datetime.now(UTC)))
        tick(ctx)
        with ctx.session_factory() as s:
            daily_report(s, today, [t.school_id], datetime.now(UTC))
            billing.meal_counts(s, [t.school_id], today.replace(day=1))
            assert voucher_meals(s, t.school_id, t.vouchers[0])
    large = seen.on_large_tables()
    assert len(large) >= 5
    assert [s for s, _ in large if lacks_school_key(s)] == []


def test_the_key_check_catches_a_query_without_the_school() -> None:
    assert lacks_school_key("SELECT meal_events.id FROM meal_events WHERE meal_events.voucher_id = %(v)s")
    assert lacks_school_key("SELECT count(*) FROM meal_refusals")
    assert not lacks_school_key("SELECT id FROM meal_events WHERE meal_events.school_id = %(s)s AND id = 1")
    assert not lacks_school_key("SELECT 1 FROM meal_events WHERE school_id IN (%(a)s, %(b)s)")
