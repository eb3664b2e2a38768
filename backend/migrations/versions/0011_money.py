"""One store for a supplier's bank account: the payment register reads the supplier's own details
(`suppliers.iban`, `bank_bik`, `bank_name`, which the console and the suppliers API write since
0007_console), so the school year's separate `supplier_accounts` table is folded into them and dropped.
A supplier that already has details keeps its own; down restores the table from the suppliers' details.

Revision ID: 0011_money
Revises: 0010_partitions
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_money"
down_revision = "0010_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE suppliers SET"
        " iban = (SELECT a.iban FROM supplier_accounts a WHERE a.supplier_id = suppliers.id),"
        " bank_bik = (SELECT a.bank_bic FROM supplier_accounts a WHERE a.supplier_id = suppliers.id),"
        " bank_name = (SELECT a.bank_name FROM supplier_accounts a WHERE a.supplier_id = suppliers.id)"
        " WHERE iban IS NULL AND EXISTS (SELECT 1 FROM supplier_accounts a WHERE a.supplier_id = suppliers.id)"
    )
    op.drop_table("supplier_accounts")


def downgrade() -> None:
    op.create_table(
        "supplier_accounts",
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bank_bic", sa.String(length=11), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_accounts_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_supplier_accounts")),
    )
    op.execute(
        "INSERT INTO supplier_accounts (supplier_id, iban, bank_bic, bank_name)"
        " SELECT id, iban, bank_bik, COALESCE(bank_name, '') FROM suppliers"
        " WHERE iban IS NOT NULL AND bank_bik IS NOT NULL"
    )
