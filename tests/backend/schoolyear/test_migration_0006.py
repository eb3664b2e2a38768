"""Migration 0006_school_year on its own: up from 0008_scale seeds the order's categories and renames
complaint statuses; down restores the earlier schema and statuses; up again is clean."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, text

from backend.db import alembic_config, init_schema, make_engine

NEW_TABLES = {
    "district_settings",
    "eligibility_categories",
    "eligibility_list_returns",
    "voucher_transfers",
    "menus",
    "outbound_deliveries",
    "billing_steps",
    "supplier_accounts",
}


def _complaints(conn: sa.Connection, *statuses: str) -> None:
    school = conn.execute(
        text(
            "INSERT INTO schools (bin, name, region, district)"
            " VALUES ('100000000001', 'S', 'Almaty', 'Almaly') RETURNING id"
        )
    ).scalar_one()
    parent = conn.execute(
        text("INSERT INTO parents (iin, full_name, language) VALUES ('900101300001', 'P', 'kk') RETURNING id")
    ).scalar_one()
    for status in statuses:
        conn.execute(
            text(
                "INSERT INTO complaints (parent_id, pupil_id, school_id, district, text, status, created_at)"
                " VALUES (:p, 1, :s, 'Almaly', 'cold soup', :st, :at)"
            ),
            {"p": parent, "s": school, "st": status, "at": datetime(2026, 9, 1, tzinfo=UTC)},
        )


def _statuses(conn: sa.Connection) -> list[str]:
    return list(conn.execute(text("SELECT status FROM complaints ORDER BY id")).scalars())


def _step(url: str) -> None:
    engine = make_engine(url)
    try:
        init_schema(engine, "0008_scale")
        assert NEW_TABLES.isdisjoint(inspect(engine).get_table_names())
        with engine.begin() as conn:
            _complaints(conn, "open", "resolved")
        init_schema(engine, "0006_school_year")
        assert NEW_TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert _statuses(conn) == ["received", "answered"]
            codes = conn.execute(text("SELECT code, plan FROM eligibility_categories ORDER BY code")).all()
        assert [tuple(r) for r in codes] == [
            ("below_subsistence_minimum", 1),
            ("orphan_or_no_parental_care", 1),
            ("targeted_social_assistance", 1),
        ]
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008_scale")
        assert NEW_TABLES.isdisjoint(inspect(engine).get_table_names())
        columns = {c["name"] for c in inspect(engine).get_columns("complaints")}
        assert columns.isdisjoint({"forwarded_at", "appeal_ref", "closed_at"})
        with engine.connect() as conn:
            assert _statuses(conn) == ["open", "resolved"]
        init_schema(engine, "0006_school_year")
        assert NEW_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0006_up_and_down_sqlite(tmp_path: Path) -> None:
    _step(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0006_up_and_down_postgres(fresh_postgres_url: str) -> None:
    _step(fresh_postgres_url)
