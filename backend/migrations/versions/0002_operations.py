"""Operations tables: calendar, tariffs, fleet, allowlists, meal events and flags, refusals, outbox, feedback.

Revision ID: 0002_operations
Revises: 0001_wallet
Create Date: 2026-11-23 11:11:28.719666
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.adapters.types

revision = "0002_operations"
down_revision = "0001_wallet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allowlists",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=32), nullable=False),
        sa.Column("generated_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_gzip", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(length=48), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_allowlists_school_id_schools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_allowlists")),
    )
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("school_day", sa.Boolean(), nullable=False),
        sa.Column("slots", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(school_id IS NULL) <> (district IS NULL)", name=op.f("ck_calendar_days_one_scope")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_calendar_days_school_id_schools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_days")),
        sa.UniqueConstraint("school_id", "district", "day", name="uq_calendar_days_scope_day"),
    )
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_days_district"), ["district"], unique=False)
        batch_op.create_index(batch_op.f("ix_calendar_days_school_id"), ["school_id"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.LargeBinary(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["parents.id"], name=op.f("fk_complaints_parent_id_parents")),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_complaints_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_district_status", ["district", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "enrolment_codes",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("canteen_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_enrolment_codes_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_enrolment_codes")),
    )
    op.create_table(
        "meal_slots",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_meal_slots_school_id_schools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("school_id", "slot", name=op.f("pk_meal_slots")),
    )
    op.create_table(
        "school_weeks",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_school_weeks_school_id_schools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_school_weeks")),
    )
    op.create_table(
        "tariffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("plan", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("state_share_tiyn", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_tariffs_school_id_schools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariffs")),
        sa.UniqueConstraint(
            "school_id", "plan", "slot", "valid_from", name="uq_tariffs_school_plan_slot_from"
        ),
    )
    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tariffs_school_id"), ["school_id"], unique=False)

    op.create_table(
        "terminals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("canteen_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kid", sa.LargeBinary(length=8), nullable=False),
        sa.Column("hostname", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("software_version", sa.String(length=40), nullable=False),
        sa.Column("last_sync", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_seen", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("backlog", sa.Integer(), nullable=False),
        sa.Column("clock_offset", sa.Float(), nullable=True),
        sa.Column("faults", sa.JSON(), nullable=False),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("enrolled_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_terminals_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
    )
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_terminals_school_id"), ["school_id"], unique=False)
        batch_op.create_index(
            "uq_terminals_active_kid",
            ["kid"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "meal_refusals",
        sa.Column("id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.Integer(), nullable=False),
        sa.Column("wall_trusted", sa.Boolean(), nullable=False),
        sa.Column("boot_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("received_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_meal_refusals_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_meal_refusals_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meal_refusals")),
    )
    with op.batch_alter_table("meal_refusals", schema=None) as batch_op:
        batch_op.create_index("ix_meal_refusals_school_at", ["school_id", "at"], unique=False)

    op.create_table(
        "meal_events",
        sa.Column("id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=True),
        sa.Column("pupil_id", sa.Integer(), nullable=True),
        sa.Column("plan", sa.Integer(), nullable=True),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("served_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("method", sa.Integer(), nullable=False),
        sa.Column("token_serial", sa.Integer(), nullable=True),
        sa.Column("wall_trusted", sa.Boolean(), nullable=False),
        sa.Column("boot_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("received_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_meal_events_school_id_schools")),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_meal_events_terminal_id_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_meal_events_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meal_events")),
    )
    with op.batch_alter_table("meal_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meal_events_school_day_slot", ["school_id", "local_date", "slot"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_meal_events_status"), ["status"], unique=False)
        batch_op.create_index("ix_meal_events_voucher_day", ["voucher_id", "local_date"], unique=False)

    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_notification_outbox_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_notification_outbox_event_id")),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notification_outbox_pending", ["sent_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_outbox_voucher_id"), ["voucher_id"], unique=False)

    op.create_table(
        "meal_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["meal_events.id"],
            name=op.f("fk_meal_flags_event_id_meal_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meal_flags")),
        sa.UniqueConstraint("event_id", "code", name="uq_meal_flags_event_code"),
    )
    op.create_table(
        "meal_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_meal_ratings_stars_range")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["meal_events.id"], name=op.f("fk_meal_ratings_event_id_meal_events")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["parents.id"], name=op.f("fk_meal_ratings_parent_id_parents")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_meal_ratings_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meal_ratings")),
        sa.UniqueConstraint("event_id", name=op.f("uq_meal_ratings_event_id")),
    )
    with op.batch_alter_table("meal_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meal_ratings_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meal_ratings_supplier_id"), ["supplier_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meal_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meal_ratings_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_meal_ratings_school_id"))

    op.drop_table("meal_ratings")
    op.drop_table("meal_flags")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_outbox_voucher_id"))
        batch_op.drop_index("ix_notification_outbox_pending")

    op.drop_table("notification_outbox")
    with op.batch_alter_table("meal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_meal_events_voucher_day")
        batch_op.drop_index(batch_op.f("ix_meal_events_status"))
        batch_op.drop_index("ix_meal_events_school_day_slot")

    op.drop_table("meal_events")
    with op.batch_alter_table("meal_refusals", schema=None) as batch_op:
        batch_op.drop_index("ix_meal_refusals_school_at")

    op.drop_table("meal_refusals")
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_terminals_active_kid",
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_terminals_school_id"))

    op.drop_table("terminals")
    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tariffs_school_id"))

    op.drop_table("tariffs")
    op.drop_table("school_weeks")
    op.drop_table("meal_slots")
    op.drop_table("enrolment_codes")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_parent_id"))
        batch_op.drop_index("ix_complaints_district_status")

    op.drop_table("complaints")
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_days_school_id"))
        batch_op.drop_index(batch_op.f("ix_calendar_days_district"))

    op.drop_table("calendar_days")
    op.drop_table("allowlists")
