"""School year: transfers, categories as data, returned lists, district settings, menus, outbound
deliveries to the state systems, the money steps and supplier accounts, complaint statuses.

Revision ID: 0006_school_year
Revises: 0008_scale
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.adapters.types

revision = "0006_school_year"
down_revision = "0005_security"
branch_labels = None
depends_on = None

# The order's three categories (Annex 1, point 5), each on the free plan and checked against the register.
ORDER_CATEGORIES = (
    (
        "targeted_social_assistance",
        "Атаулы әлеуметтік көмек алатын отбасылар",
        "Семьи, получающие адресную социальную помощь",
        1,
        True,
        True,
    ),
    (
        "below_subsistence_minimum",
        "Табысы ең төмен күнкөріс деңгейінен төмен отбасылар",
        "Семьи с доходом ниже прожиточного минимума",
        1,
        True,
        True,
    ),
    (
        "orphan_or_no_parental_care",
        "Жетім балалар және ата-ана қамқорлығынсыз қалған балалар",
        "Дети-сироты и дети, оставшиеся без попечения родителей",
        1,
        True,
        True,
    ),
)


def upgrade() -> None:
    op.create_table(
        "district_settings",
        sa.Column("district", sa.String(length=100), nullable=False),
        sa.Column("school_activates_unlinked", sa.Boolean(), nullable=False),
        sa.Column("year_end_month", sa.Integer(), nullable=True),
        sa.Column("year_end_day", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("district", name=op.f("pk_district_settings")),
    )
    op.create_table(
        "eligibility_categories",
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name_kk", sa.String(length=200), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.Integer(), nullable=False),
        sa.Column("in_register", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_eligibility_categories")),
    )
    op.create_table(
        "outbound_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("receipt", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_outbound_deliveries_key")),
    )
    with op.batch_alter_table("outbound_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_outbound_deliveries_due", ["status", "next_attempt_at"], unique=False)

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
    op.create_table(
        "billing_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_billing_steps_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_steps")),
        sa.UniqueConstraint("school_id", "month", "version", "step", name="uq_billing_steps_act_step"),
    )
    with op.batch_alter_table("billing_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_steps_school_id"), ["school_id"], unique=False)

    op.create_table(
        "menus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("dishes_json", sa.Text(), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=False),
        sa.Column("published_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_menus_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_menus")),
        sa.UniqueConstraint("school_id", "day", "slot", name="uq_menus_school_day_slot"),
    )
    with op.batch_alter_table("menus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_menus_school_id"), ["school_id"], unique=False)

    op.create_table(
        "eligibility_list_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("by", sa.Integer(), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["eligibility_lists.id"],
            name=op.f("fk_eligibility_list_returns_list_id_eligibility_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_list_returns")),
    )
    with op.batch_alter_table("eligibility_list_returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eligibility_list_returns_list_id"), ["list_id"], unique=False)

    op.create_table(
        "voucher_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("from_school_id", sa.Integer(), nullable=False),
        sa.Column("to_school_id", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_school_id"], ["schools.id"], name=op.f("fk_voucher_transfers_from_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_voucher_transfers_pupil_id_pupils")
        ),
        sa.ForeignKeyConstraint(
            ["to_school_id"], ["schools.id"], name=op.f("fk_voucher_transfers_to_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_voucher_transfers_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_transfers")),
    )
    with op.batch_alter_table("voucher_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_transfers_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_transfers_voucher_id"), ["voucher_id"], unique=False)

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("forwarded_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("appeal_ref", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("closed_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True)
        )
    # received / forwarded / answered / closed replace open / resolved (a resolution is the answer)
    op.execute("UPDATE complaints SET status = 'received' WHERE status = 'open'")
    op.execute("UPDATE complaints SET status = 'answered' WHERE status = 'resolved'")
    categories = sa.table(
        "eligibility_categories",
        sa.column("code", sa.String),
        sa.column("name_kk", sa.String),
        sa.column("name_ru", sa.String),
        sa.column("plan", sa.Integer),
        sa.column("in_register", sa.Boolean),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        categories,
        [
            dict(zip(("code", "name_kk", "name_ru", "plan", "in_register", "active"), row, strict=True))
            for row in ORDER_CATEGORIES
        ],
    )


def downgrade() -> None:
    op.execute("UPDATE complaints SET status = 'open' WHERE status IN ('received', 'forwarded')")
    op.execute("UPDATE complaints SET status = 'resolved' WHERE status IN ('answered', 'closed')")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("appeal_ref")
        batch_op.drop_column("forwarded_at")

    with op.batch_alter_table("voucher_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_transfers_voucher_id"))
        batch_op.drop_index(batch_op.f("ix_voucher_transfers_pupil_id"))

    op.drop_table("voucher_transfers")
    with op.batch_alter_table("eligibility_list_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eligibility_list_returns_list_id"))

    op.drop_table("eligibility_list_returns")
    with op.batch_alter_table("menus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_menus_school_id"))

    op.drop_table("menus")
    with op.batch_alter_table("billing_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_steps_school_id"))

    op.drop_table("billing_steps")
    op.drop_table("supplier_accounts")
    with op.batch_alter_table("outbound_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_deliveries_due")

    op.drop_table("outbound_deliveries")
    op.drop_table("eligibility_categories")
    op.drop_table("district_settings")
