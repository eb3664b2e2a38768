"""The staff console: account state (active, supplier, TOTP), suppliers' bank details and dated links to
schools, the head's comment on a returned list, and background import jobs with their progress.

Revision ID: 0007_console
Revises: 0006_school_year
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_console"
down_revision = "0006_school_year"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("iban", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("bank_bik", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("bank_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("district", sa.String(length=100), nullable=True))
    op.create_table(
        "supplier_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_supplier_links_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_links_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_links")),
    )
    with op.batch_alter_table("supplier_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_links_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_supplier_links_supplier_id"), ["supplier_id"], unique=False)
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("supplier_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_admins_supplier_id_suppliers"), "suppliers", ["supplier_id"], ["id"]
        )
    with op.batch_alter_table("eligibility_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_comment", sa.String(length=500), nullable=True))
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_runs.id"], name=op.f("fk_import_jobs_run_id_import_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )


def downgrade() -> None:
    op.drop_table("import_jobs")
    with op.batch_alter_table("eligibility_lists", schema=None) as batch_op:
        batch_op.drop_column("return_comment")
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_admins_supplier_id_suppliers"), type_="foreignkey")
        batch_op.drop_column("created_by")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("supplier_id")
        batch_op.drop_column("active")
    with op.batch_alter_table("supplier_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_links_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_supplier_links_school_id"))
    op.drop_table("supplier_links")
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_column("district")
        batch_op.drop_column("bank_name")
        batch_op.drop_column("bank_bik")
        batch_op.drop_column("iban")
