"""The meal outbox drops its foreign key and index on voucher_id: neither is read, and both are paid per
meal on the ingest's hot path.

No query looks outbox rows up by voucher (the worker reads them by `sent_at, id`, a replay by the unique
event id), and every outbox row is written with its meal, whose own foreign key already proves the
voucher. The key checked each notice's voucher again and the index was written once per meal: together
about a third of the outbox insert's time on PostgreSQL (docs/scale.md).

Revision ID: 0012_ingesthalf
Revises: 0011_districtpages
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0012_ingesthalf"
down_revision = "0011_districtpages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_outbox_voucher_id")
        batch_op.drop_constraint("fk_notification_outbox_voucher_id_vouchers", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_notification_outbox_voucher_id_vouchers", "vouchers", ["voucher_id"], ["id"]
        )
        batch_op.create_index("ix_notification_outbox_voucher_id", ["voucher_id"], unique=False)
