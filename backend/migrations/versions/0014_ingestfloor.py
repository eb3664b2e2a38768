"""The meal outbox becomes one row per stored batch and school (`meal_notice_batches`, the batch's event
ids back to back) instead of one row per meal with its words (`notification_outbox`).

The worker expands a taken row into each meal's notice to the pupil's guardian (backend/notify), so the
ingest writes one small row per batch: the outbox row per meal, with its unique index and its guardian
join, was most of what the ingest cost PostgreSQL beyond the meal insert itself (docs/scale.md).
Notices still waiting are carried over both ways: on upgrade each becomes a row of one meal; on
downgrade each queued meal becomes an outbox row again, to the guardian the worker would have chosen
(its words are the worker's: the old worker never read the stored body).

Revision ID: 0014_ingestfloor
Revises: 0013_map304
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.adapters.types

revision = "0014_ingestfloor"
down_revision = "0013_map304"
branch_labels = None
depends_on = None

EVENT_ID_LEN = 16
# pick_guardian's order in SQL: a parent with a phone first, then by role, then the lowest id
_GUARDIAN = (
    "(SELECT p.id FROM guardianships g JOIN parents p ON p.id = g.parent_id WHERE g.pupil_id = m.pupil_id"
    " ORDER BY p.phone IS NULL, CASE g.role WHEN 'mother' THEN 0 WHEN 'father' THEN 1 WHEN 'guardian' THEN 2"
    " WHEN 'trustee' THEN 3 ELSE 4 END, p.id LIMIT 1)"
)


def upgrade() -> None:
    op.create_table(
        "meal_notice_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("meals", sa.Integer(), nullable=False),
        sa.Column("event_ids", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meal_notice_batches")),
    )
    op.execute(
        "INSERT INTO meal_notice_batches (school_id, meals, event_ids, created_at)"
        " SELECT school_id, 1, event_id, created_at FROM notification_outbox"
        " WHERE sent_at IS NULL AND school_id IS NOT NULL ORDER BY id"
    )
    op.drop_table("notification_outbox")


def downgrade() -> None:
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
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_notification_outbox_event_id")),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notification_outbox_pending", ["sent_at", "id"], unique=False)
    conn = op.get_bind()
    requeue = sa.text(
        "INSERT INTO notification_outbox (event_id, kind, voucher_id, pupil_id, parent_id, body, created_at,"  # noqa: S608 - constants
        f" sent_at, attempts, school_id) SELECT m.id, 'meal_served', m.voucher_id, m.pupil_id, {_GUARDIAN}, '',"
        " b.created_at, NULL, 0, m.school_id FROM meal_notice_batches b JOIN meal_events m"
        " ON m.school_id = b.school_id AND m.id IN :ids WHERE b.id = :batch"
        " AND m.voucher_id IS NOT NULL AND m.pupil_id IS NOT NULL"
    ).bindparams(sa.bindparam("ids", expanding=True))
    for batch_id, blob in conn.execute(
        sa.text("SELECT id, event_ids FROM meal_notice_batches ORDER BY id")
    ).all():
        blob = bytes(blob)
        ids = [blob[i : i + EVENT_ID_LEN] for i in range(0, len(blob), EVENT_ID_LEN)]
        conn.execute(requeue, {"batch": batch_id, "ids": ids})
    op.drop_table("meal_notice_batches")
