"""Migration 0011_money, on SQLite and PostgreSQL: a supplier's account kept in `supplier_accounts` moves
onto the supplier (one that has its own details keeps them) and the table goes; down brings the table
back from the suppliers' details."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from backend.db import alembic_config, init_schema, make_engine


def _up_and_down(url: str) -> None:
    engine = make_engine(url)
    try:
        init_schema(engine, "0010_partitions")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO suppliers (id, bin, name, iban, bank_bik) VALUES"
                    " (1, '990000000001', 'Moved', NULL, NULL),"
                    " (2, '990000000002', 'Own', 'KZ22OWN', 'OWNBKZKX'),"
                    " (3, '990000000003', 'None', NULL, NULL)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO supplier_accounts (supplier_id, iban, bank_bic, bank_name) VALUES"
                    " (1, 'KZ11MOVED', 'MOVEKZKX', 'Halyk'), (2, 'KZ22OLD', 'OLDBKZKX', 'Old')"
                )
            )
        init_schema(engine)
        assert "supplier_accounts" not in inspect(engine).get_table_names()
        query = text("SELECT id, iban, bank_bik, bank_name FROM suppliers ORDER BY id")
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(query)] == [
                (1, "KZ11MOVED", "MOVEKZKX", "Halyk"),
                (2, "KZ22OWN", "OWNBKZKX", None),
                (3, None, None, None),
            ]
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010_partitions")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM supplier_accounts ORDER BY supplier_id")).all()
        assert [tuple(r) for r in rows] == [
            (1, "KZ11MOVED", "MOVEKZKX", "Halyk"),
            (2, "KZ22OWN", "OWNBKZKX", ""),
        ]
    finally:
        engine.dispose()


def test_0011_up_and_down_sqlite(tmp_path: Path) -> None:
    _up_and_down(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0011_up_and_down_postgres(fresh_postgres_url: str) -> None:
    _up_and_down(fresh_postgres_url)
