"""National scale: a per-school change counter for allowlist bundles, kept by triggers.

Every write that changes what a school's bundle carries (its vouchers, their pupils' pseudonym and
display, cards, revoked serials, week, slots, calendar days of the school or its district, tariffs of the
school or the defaults) raises `allowlist_versions.version` for the schools it concerns, in the writing
transaction. The allowlist endpoint answers a conditional request from that one row (backend/fleet/
allowlist.py). Triggers, not application code, so that bulk statements, COPY and imports count too.
Token issuance (next_serial, updated_at) changes no watched column and fires nothing.

Revision ID: 0008_scale
Revises: 0003_reporting
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_scale"
down_revision = "0003_reporting"
branch_labels = None
depends_on = None

# table -> (which schools a row concerns, as a predicate on `schools` with {r} for OLD/NEW,
#           the columns whose change matters, the events watched)
WATCHED: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "vouchers": (
        "id = {r}.school_id",
        ("school_id", "pupil_id", "plan", "status", "valid_until", "min_serial"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "pupils": (
        "id IN (SELECT school_id FROM vouchers WHERE pupil_id = {r}.id)",
        ("pseudonym", "display"),
        ("UPDATE",),
    ),
    "card_registrations": (
        "id IN (SELECT school_id FROM vouchers WHERE pupil_id = {r}.pupil_id)",
        ("pupil_id", "uid_hash", "active", "registered_at"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "revoked_tokens": (
        "id IN (SELECT school_id FROM vouchers WHERE id = {r}.voucher_id)",
        ("voucher_id", "serial"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "school_weeks": ("id = {r}.school_id", ("school_id", "weekdays"), ("INSERT", "UPDATE", "DELETE")),
    "meal_slots": (
        "id = {r}.school_id",
        ("school_id", "slot", "start_minute", "end_minute"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "calendar_days": (
        "(id = {r}.school_id OR district = {r}.district)",
        ("school_id", "district", "day", "school_day", "slots"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "tariffs": (
        "({r}.school_id IS NULL OR id = {r}.school_id)",
        ("school_id", "plan", "slot", "valid_from", "amount_tiyn"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "schools": ("id = {r}.id", ("district",), ("UPDATE",)),
}


def _bump(where: str) -> str:
    # ORDER BY: schools' counter rows are always locked in id order, so two writers cannot deadlock on them
    # the predicates are the constants in WATCHED, never input
    return (
        "INSERT INTO allowlist_versions (school_id, version) "  # noqa: S608
        f"SELECT id, 1 FROM schools WHERE {where} ORDER BY id "
        "ON CONFLICT (school_id) DO UPDATE SET version = allowlist_versions.version + 1"
    )


def _predicate(table: str, event: str) -> str:
    schools, _, _ = WATCHED[table]
    if event == "INSERT":
        return schools.format(r="NEW")
    if event == "DELETE":
        return schools.format(r="OLD")
    return f"({schools.format(r='OLD')}) OR ({schools.format(r='NEW')})"


def _changed(table: str, dialect: str) -> str:
    _, columns, _ = WATCHED[table]
    op_ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in columns)


def _name(table: str, event: str) -> str:
    return f"allowlist_touch_{table}_{event.lower()}"


def upgrade() -> None:
    op.create_table(
        "allowlist_versions",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_allowlist_versions_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_allowlist_versions")),
    )
    dialect = op.get_bind().dialect.name
    for table, (_, _, events) in WATCHED.items():
        for event in events:
            name = _name(table, event)
            when = f"WHEN ({_changed(table, dialect)})" if event == "UPDATE" else ""
            body = _bump(_predicate(table, event))
            if dialect == "postgresql":
                op.execute(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN {body}; RETURN NULL; END $$"
                )
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW {when} "
                    f"EXECUTE FUNCTION {name}()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW {when} BEGIN {body}; END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, (_, _, events) in WATCHED.items():
        for event in events:
            name = _name(table, event)
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("allowlist_versions")
