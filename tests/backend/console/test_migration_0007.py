"""Migration 0007_console down to 0008_scale and up again, on SQLite and PostgreSQL: its tables and
columns come and go, and the data of the tables it alters stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from backend.db import alembic_config, init_schema, make_engine


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def _down_and_up(url: str) -> None:
    engine = make_engine(url)
    try:
        init_schema(engine)
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO suppliers (bin, name, iban) VALUES ('990000000009', 'Kept', 'KZ1')")
            )
        assert {"supplier_links", "import_jobs"} <= set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008_scale")
        tables = set(inspect(engine).get_table_names())
        assert not {"supplier_links", "import_jobs"} & tables
        assert not {"active", "totp_secret", "supplier_id"} & _columns(engine, "admins")
        assert "iban" not in _columns(engine, "suppliers")
        assert "return_comment" not in _columns(engine, "eligibility_lists")
        init_schema(engine)
        assert {"active", "totp_secret", "supplier_id", "created_by"} <= _columns(engine, "admins")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM suppliers")).scalars().all() == ["Kept"]
    finally:
        engine.dispose()


def test_0007_down_and_up_sqlite(tmp_path: Path) -> None:
    _down_and_up(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0007_down_and_up_postgres(fresh_postgres_url: str) -> None:
    _down_and_up(fresh_postgres_url)
