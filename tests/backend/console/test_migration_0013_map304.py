"""Migration 0013_map304 down to 0012_ingesthalf and up again, on SQLite and PostgreSQL: the change markers
and their triggers come and go, a marker rises on a change the terminal map holds and not on another, and
the tables take writes after the downgrade (no trigger is left naming the dropped column)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from backend.db import alembic_config, init_schema, make_engine

SCHOOL = "INSERT INTO schools (id, bin, name, region, district) VALUES (1, '1', 'S', 'A', 'D')"
TERMINAL = (
    "INSERT INTO terminals (id, school_id, canteen_id, public_key, kid, hostname, status, software_version, "
    "backlog, faults, enrolled_at) VALUES (:id, 1, 1, :key, :kid, 't', 'active', '1', 0, '[]', "
    "'2026-12-01 10:00:00+00:00')"
)
BUMP = (
    "INSERT INTO allowlist_versions (school_id, version) VALUES (1, 1) "
    "ON CONFLICT (school_id) DO UPDATE SET version = allowlist_versions.version + 1"
)


def _marked(engine: Engine) -> bool:
    tables = ("terminals", "allowlist_versions")
    return all("change_seq" in {c["name"] for c in inspect(engine).get_columns(t)} for t in tables)


def _insert_terminal(conn: Connection, n: int) -> None:
    conn.execute(text(TERMINAL), {"id": n, "key": bytes([n]) * 32, "kid": bytes([n]) * 8})


def _seq(engine: Engine, table: str, where: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT change_seq FROM {table} WHERE {where}")).scalar_one())


def _down_and_up(url: str) -> None:
    engine = make_engine(url)
    try:
        init_schema(engine)
        with engine.begin() as conn:
            conn.execute(text(SCHOOL))
            _insert_terminal(conn, 1)
            conn.execute(text(BUMP))
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0012_ingesthalf")
        assert not _marked(engine)
        with engine.begin() as conn:  # writes as before the migration
            _insert_terminal(conn, 2)
            conn.execute(text("UPDATE terminals SET status = 'retired' WHERE id = 2"))
            conn.execute(text(BUMP))
        init_schema(engine)
        assert _marked(engine)
        assert _seq(engine, "terminals", "id = 2") == 0  # rows from before carry 0: a first read takes all
        with engine.begin() as conn:
            conn.execute(text("UPDATE terminals SET status = 'retired' WHERE id = 1"))
        retired = _seq(engine, "terminals", "id = 1")
        assert retired > 0
        with engine.begin() as conn:  # a health report: no column the map holds
            conn.execute(text("UPDATE terminals SET backlog = 9, hostname = 'u' WHERE id = 1"))
        assert _seq(engine, "terminals", "id = 1") == retired
        with engine.begin() as conn:
            conn.execute(text(BUMP))
        assert _seq(engine, "allowlist_versions", "school_id = 1") > 0
    finally:
        engine.dispose()


def test_0013_map304_down_and_up_sqlite(tmp_path: Path) -> None:
    _down_and_up(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0013_map304_down_and_up_postgres(fresh_postgres_url: str) -> None:
    _down_and_up(fresh_postgres_url)
