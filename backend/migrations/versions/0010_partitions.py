"""Meal events and refusals partitioned by month on PostgreSQL; their school in every key.

PostgreSQL: `meal_events` becomes PARTITION BY RANGE (local_date) with primary key (school_id,
local_date, id), `meal_refusals` PARTITION BY RANGE (at) with (school_id, at, id); monthly partitions in
schema `partitions` (backend/ingest/partitions.py names them and the worker keeps them ahead), from the
oldest stored month to three months ahead, and a DEFAULT partition. Existing rows are copied over.
A unique key on a partitioned table must hold the partition column, so the foreign keys from
meal_flags and meal_ratings to meal_events.id cannot stay: they are dropped on both databases and the
services that write flags and ratings check the meal first (as they did). The meal outbox gains the
meal's school (filled from the meals), so the notice worker looks meals up by their whole key.
SQLite keeps its tables otherwise unchanged.

Revision ID: 0010_partitions
Revises: 0007_console
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

from backend.clock import KZ_TZ
from backend.ingest.partitions import MONTHS_AHEAD, SCHEMA, TABLES, add_months, create_partition_sql

revision = "0010_partitions"
down_revision = "0007_console"
branch_labels = None
depends_on = None

# table -> (primary key when partitioned, its indexes, its foreign keys (column, target))
SHAPE: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]], dict[str, tuple[str, str]]]] = {
    "meal_events": (
        ("school_id", "local_date", "id"),
        {
            "ix_meal_events_school_day_slot": ("school_id", "local_date", "slot"),
            "ix_meal_events_voucher_day": ("voucher_id", "local_date"),
            "ix_meal_events_status": ("status",),
        },
        {
            "fk_meal_events_school_id_schools": ("school_id", "schools"),
            "fk_meal_events_terminal_id_terminals": ("terminal_id", "terminals"),
            "fk_meal_events_voucher_id_vouchers": ("voucher_id", "vouchers"),
        },
    ),
    "meal_refusals": (
        ("school_id", "at", "id"),
        {"ix_meal_refusals_school_at": ("school_id", "at")},
        {
            "fk_meal_refusals_school_id_schools": ("school_id", "schools"),
            "fk_meal_refusals_terminal_id_terminals": ("terminal_id", "terminals"),
        },
    ),
}
# (table, column, constraint) of the foreign keys into meal_events.id
INBOUND = (
    ("meal_flags", "event_id", "fk_meal_flags_event_id_meal_events", "CASCADE"),
    ("meal_ratings", "event_id", "fk_meal_ratings_event_id_meal_events", None),
)


def _first_month(table: str, column: str) -> date:
    oldest = op.get_bind().scalar(sa.text(f"SELECT min({column}) FROM {table}"))  # noqa: S608 - constants
    today = datetime.now(UTC).astimezone(KZ_TZ).date().replace(day=1)
    if oldest is None:
        return add_months(today, -1)
    if isinstance(oldest, datetime):
        oldest = oldest.astimezone(KZ_TZ).date()
    first: date = oldest.replace(day=1)
    return min(first, add_months(today, -1))


def _create(table: str, like: str, key_column: str) -> None:
    pk, indexes, fks = SHAPE[table]
    op.execute(f"CREATE TABLE {table} (LIKE {like} INCLUDING DEFAULTS) PARTITION BY RANGE ({key_column})")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(pk)})")
    for name, cols in indexes.items():
        op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(cols)})")
    for name, (col, target) in fks.items():
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({col}) REFERENCES {target} (id)")


def _rename_away(table: str) -> str:
    old = f"{table}_unpartitioned"
    _, indexes, fks = SHAPE[table]
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    for name in (f"pk_{table}", *indexes):
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    for name in fks:
        op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_old")
    return old


def upgrade() -> None:
    # the meal outbox names the meal by its whole key, so the worker finds it in its school's shard
    with op.batch_alter_table("notification_outbox") as batch:
        batch.add_column(sa.Column("school_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE notification_outbox SET school_id = "
        "(SELECT school_id FROM meal_events WHERE meal_events.id = notification_outbox.event_id)"
    )
    for table, _column, name, _ondelete in INBOUND:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    today = datetime.now(UTC).astimezone(KZ_TZ).date().replace(day=1)
    for p in TABLES:
        first = _first_month(p.table, p.column)
        old = _rename_away(p.table)
        _create(p.table, old, p.column)
        month = first
        while month <= add_months(today, MONTHS_AHEAD):
            op.execute(create_partition_sql(p, month))
            month = add_months(month, 1)
        op.execute(f"CREATE TABLE {SCHEMA}.{p.table}_default PARTITION OF {p.table} DEFAULT")
        op.execute(f"INSERT INTO {p.table} SELECT * FROM {old}")  # noqa: S608 - constants
        op.execute(f"DROP TABLE {old}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for p in TABLES:
            _, indexes, fks = SHAPE[p.table]
            flat = f"{p.table}_flat"
            op.execute(f"CREATE TABLE {flat} (LIKE {p.table} INCLUDING DEFAULTS)")
            op.execute(f"INSERT INTO {flat} SELECT * FROM {p.table}")  # noqa: S608 - constants
            op.execute(f"DROP TABLE {p.table} CASCADE")
            op.execute(f"ALTER TABLE {flat} RENAME TO {p.table}")
            op.execute(f"ALTER TABLE {p.table} ADD CONSTRAINT pk_{p.table} PRIMARY KEY (id)")
            for name, cols in indexes.items():
                op.execute(f"CREATE INDEX {name} ON {p.table} ({', '.join(cols)})")
            for name, (col, target) in fks.items():
                op.execute(
                    f"ALTER TABLE {p.table} ADD CONSTRAINT {name} FOREIGN KEY ({col}) REFERENCES {target} (id)"
                )
        op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")  # detached archives go with it
    for table, column, name, ondelete in INBOUND:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, "meal_events", [column], ["id"], ondelete=ondelete)
    with op.batch_alter_table("notification_outbox") as batch:
        batch.drop_column("school_id")
