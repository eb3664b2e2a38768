"""Parent web pages and the pupil's pass: passes, consent decisions, notice delivery (push, SMS digest).

Revision ID: 0004_web
Revises: 0003_reporting
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.adapters.types

revision = "0004_web"
down_revision = "0003_reporting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_cursors")),
    )
    op.create_table(
        "notify_preferences",
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("sms_digest", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["parents.id"], name=op.f("fk_notify_preferences_parent_id_parents")
        ),
        sa.PrimaryKeyConstraint("parent_id", name=op.f("pk_notify_preferences")),
    )
    op.create_table(
        "parent_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=True),
        sa.Column("display", sa.String(length=40), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("push_done_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("next_push_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("push_attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["parents.id"], name=op.f("fk_parent_notices_parent_id_parents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parent_notices")),
        sa.UniqueConstraint("source", "parent_id", name="uq_parent_notices_source_parent"),
    )
    with op.batch_alter_table("parent_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parent_notices_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            "ix_parent_notices_push_pending", ["push_done_at", "next_push_at"], unique=False
        )

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=50), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["parents.id"], name=op.f("fk_push_subscriptions_parent_id_parents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscriptions_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "sms_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["parents.id"], name=op.f("fk_sms_digests_parent_id_parents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_digests")),
        sa.UniqueConstraint("parent_id", "day", name="uq_sms_digests_parent_day"),
    )
    op.create_table(
        "push_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["parent_notices.id"], name=op.f("fk_push_deliveries_notice_id_parent_notices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_deliveries")),
    )
    with op.batch_alter_table("push_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_deliveries_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "consent_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_consent_decisions_request_id_consent_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_decisions")),
    )
    with op.batch_alter_table("consent_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_decisions_request_id"), ["request_id"], unique=False)

    op.create_table(
        "pupil_passes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("link_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("link_expires_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("installed_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("device_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("device_label", sa.String(length=60), nullable=True),
        sa.Column("serial", sa.Integer(), nullable=True),
        sa.Column("last_refresh_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("refreshes", sa.Integer(), nullable=False),
        sa.Column("revoked_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["parents.id"], name=op.f("fk_pupil_passes_parent_id_parents")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_pupil_passes_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_pupil_passes_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupil_passes")),
        sa.UniqueConstraint("device_hash", name=op.f("uq_pupil_passes_device_hash")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_pupil_passes_link_hash")),
    )
    with op.batch_alter_table("pupil_passes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pupil_passes_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pupil_passes_voucher_id"), ["voucher_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pupil_passes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pupil_passes_voucher_id"))
        batch_op.drop_index(batch_op.f("ix_pupil_passes_parent_id"))

    op.drop_table("pupil_passes")
    with op.batch_alter_table("consent_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_decisions_request_id"))

    op.drop_table("consent_decisions")
    with op.batch_alter_table("push_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_deliveries_notice_id"))

    op.drop_table("push_deliveries")
    op.drop_table("sms_digests")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_parent_id"))

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("parent_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_parent_notices_push_pending")
        batch_op.drop_index(batch_op.f("ix_parent_notices_parent_id"))

    op.drop_table("parent_notices")
    op.drop_table("notify_preferences")
    op.drop_table("notify_cursors")
