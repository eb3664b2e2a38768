"""Migration 0011_districtpages down to 0011_consolebench and up again, on SQLite and PostgreSQL: the import
jobs' phase and heartbeat come and go, an interrupted job fits the column (20 characters) and reads as
failed after the downgrade, and the other jobs keep their state."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from backend.db import alembic_config, init_schema, make_engine

JOB = (
    "INSERT INTO import_jobs (kind, filename, admin_id, status, total, done, created_at, phase, heartbeat_at) "
    "VALUES ('pupils', :name, 1, :status, 0, 0, '2026-12-01 10:00:00+00:00', 'saving', "
    "'2026-12-01 10:00:00+00:00')"
)


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("import_jobs")}


def _down_and_up(url: str) -> None:
    engine = make_engine(url)
    try:
        init_schema(engine)
        with engine.begin() as conn:
            conn.execute(text(JOB), {"name": "cut.csv", "status": "interrupted"})
            conn.execute(text(JOB), {"name": "ok.csv", "status": "done"})
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011_consolebench")
        assert not {"phase", "heartbeat_at"} & _columns(engine)
        with engine.connect() as conn:
            states: dict[str, str] = dict(
                conn.execute(text("SELECT filename, status FROM import_jobs")).tuples().all()
            )
        assert states == {"cut.csv": "failed", "ok.csv": "done"}
        init_schema(engine)
        assert {"phase", "heartbeat_at"} <= _columns(engine)
        with engine.begin() as conn:
            conn.execute(text(JOB), {"name": "again.csv", "status": "interrupted"})
    finally:
        engine.dispose()


def test_0011_districtpages_down_and_up_sqlite(tmp_path: Path) -> None:
    _down_and_up(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0011_districtpages_down_and_up_postgres(fresh_postgres_url: str) -> None:
    _down_and_up(fresh_postgres_url)
