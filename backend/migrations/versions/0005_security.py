"""Security: shared throttle counters (admins' lock columns go); OTP codes sealed in the SMS outbox; refusals
keep any uint32 voucher id.

Revision ID: 0005_security
Revises: 0008_scale
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.adapters.types

revision = "0005_security"
down_revision = "0008_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttles")),
    )
    with op.batch_alter_table("sms_messages") as batch:
        batch.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
    # wrong passwords cool down in `throttles` now, per login and per address, instead of locking the row
    with op.batch_alter_table("admins") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
    # A refusal keeps the voucher id as the terminal read it: any uint32, past PostgreSQL's integer.
    with op.batch_alter_table("meal_refusals") as batch:
        batch.alter_column("voucher_id", existing_type=sa.Integer(), type_=sa.BigInteger())
    # Codes queued before this revision were stored in clear: mask them (they expire within minutes).
    op.execute("UPDATE sms_messages SET body = 'Код входа / Кіру коды: ••••••' WHERE kind = 'otp'")


def downgrade() -> None:
    with op.batch_alter_table("admins") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("locked_until", backend.adapters.types.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("meal_refusals") as batch:
        batch.alter_column("voucher_id", existing_type=sa.BigInteger(), type_=sa.Integer())
    with op.batch_alter_table("sms_messages") as batch:
        batch.drop_column("sealed")
    op.drop_table("throttles")
