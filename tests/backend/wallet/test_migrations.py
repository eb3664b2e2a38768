"""Alembic: upgrade head matches the ORM metadata exactly, and downgrade base removes every table."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from backend.db import alembic_config, init_schema, make_engine
from backend.schema import all_metadata


def _round_trip(url: str) -> None:
    engine = make_engine(url)
    try:
        init_schema(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, all_metadata())
        assert diff == [], diff
        tables = set(inspect(engine).get_table_names())
        assert {"pupils", "vouchers", "voucher_events", "scheduled_jobs", "sms_messages"} <= tables
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_up_and_down_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migrations_up_and_down_postgres(fresh_postgres_url: str) -> None:
    _round_trip(fresh_postgres_url)
