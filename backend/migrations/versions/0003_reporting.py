"""Reporting and billing: stored versions of the monthly act of completed work.

Revision ID: 0003_reporting
Revises: 0002_operations
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.adapters.types

revision = "0003_reporting"
down_revision = "0002_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_acts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("meals", sa.Integer(), nullable=False),
        sa.Column("amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("state_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("parent_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("lines_json", sa.Text(), nullable=False),
        sa.Column("generated_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("signed_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_billing_acts_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_billing_acts_supplier_id_suppliers")
        ),
        sa.ForeignKeyConstraint(["signed_by"], ["admins.id"], name=op.f("fk_billing_acts_signed_by_admins")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_acts")),
        sa.UniqueConstraint("school_id", "month", "version", name="uq_billing_acts_school_month_version"),
    )
    with op.batch_alter_table("billing_acts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_acts_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_billing_acts_supplier_id"), ["supplier_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("billing_acts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_acts_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_billing_acts_school_id"))
    op.drop_table("billing_acts")
