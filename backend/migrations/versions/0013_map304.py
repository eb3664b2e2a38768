"""A change marker on terminals and on the schools' allowlist change counters, kept by triggers.

Each API process keeps a map of the active terminals and of every school's change counter, so that a
terminal's conditional allowlist request holding the current ETag is answered 304 without a database read
(backend/fleet/terminal_map.py). The map is refreshed at most once a second from the rows changed since
its last read, found by `change_seq`:

- PostgreSQL: the writing transaction's 64-bit id (`pg_current_xact_id()`), set by a BEFORE trigger. A
  reader takes the oldest transaction still running (`pg_snapshot_xmin`) as its next horizon, so a
  transaction that committed after a later one is not missed.
- SQLite: one more than the table's highest marker, set by an AFTER trigger; SQLite's writers are
  serialised, so markers rise in commit order. The column comes by plain ALTERs.

Only the columns the map holds raise the terminal's marker (a health report leaves it, and its update
stays a heap-only one); every change of a school's counter raises the counter's.

Revision ID: 0013_map304
Revises: 0012_ingesthalf
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0013_map304"
down_revision = "0012_ingesthalf"
branch_labels = None
depends_on = None

# table -> the columns whose change the map must see
WATCHED: dict[str, tuple[str, ...]] = {
    "terminals": ("id", "school_id", "kid", "public_key", "status"),
    "allowlist_versions": ("school_id", "version"),
}
INDEX = (
    "ix_terminals_change_seq"  # the counters' table is small and hot: no index, which would cost every bump
)


def _changed(table: str, op_: str) -> str:
    return " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in WATCHED[table])


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        op.execute(f"ALTER TABLE {table} ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0")
        if postgres:
            op.execute(
                f"CREATE FUNCTION {table}_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN NEW.change_seq := pg_current_xact_id()::text::bigint; RETURN NEW; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_change_seq_insert BEFORE INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_change_seq()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_change_seq_update BEFORE UPDATE ON {table} "
                f"FOR EACH ROW WHEN ({_changed(table, 'IS DISTINCT FROM')}) EXECUTE FUNCTION {table}_change_seq()"
            )
        else:
            # `table` comes from the constant above, never from input.
            body = (
                f"UPDATE {table} SET change_seq = (SELECT max(change_seq) + 1 FROM {table}) "  # noqa: S608
                "WHERE rowid = NEW.rowid"
            )
            op.execute(f"CREATE TRIGGER {table}_change_seq_insert AFTER INSERT ON {table} BEGIN {body}; END")
            op.execute(
                f"CREATE TRIGGER {table}_change_seq_update AFTER UPDATE ON {table} "
                f"FOR EACH ROW WHEN ({_changed(table, 'IS NOT')}) BEGIN {body}; END"
            )
    op.create_index(INDEX, "terminals", ["change_seq"])


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index(INDEX, table_name="terminals")
    for table in WATCHED:
        for event in ("insert", "update"):
            op.execute(
                f"DROP TRIGGER IF EXISTS {table}_change_seq_{event}" + (f" ON {table}" if postgres else "")
            )
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {table}_change_seq()")
        op.execute(f"ALTER TABLE {table} DROP COLUMN change_seq")
