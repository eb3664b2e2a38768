"""Wallet tables: schools, pupils, parents, eligibility, consent, SMS, jobs, vouchers, auth, imports.

Revision ID: 0001_wallet
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.adapters.types

revision = "0001_wallet"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admins")),
        sa.UniqueConstraint("login", name=op.f("uq_admins_login")),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_sessions")),
    )
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_table(
        "parent_otps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("expires_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parent_otps")),
    )
    with op.batch_alter_table("parent_otps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parent_otps_phone"), ["phone"], unique=False)

    op.create_table(
        "parents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("iin", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parents")),
        sa.UniqueConstraint("iin", name=op.f("uq_parents_iin")),
    )
    with op.batch_alter_table("parents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parents_phone"), ["phone"], unique=False)

    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("due_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("done_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_scheduled_jobs_key")),
    )
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_jobs_pending", ["done_at", "due_at"], unique=False)

    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("bin", name=op.f("uq_suppliers_bin")),
    )
    op.create_table(
        "import_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_runs.id"], name=op.f("fk_import_rejections_run_id_import_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_rejections")),
    )
    with op.batch_alter_table("import_rejections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_rejections_run_id"), ["run_id"], unique=False)

    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_schools_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint("bin", name=op.f("uq_schools_bin")),
    )
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schools_district"), ["district"], unique=False)

    op.create_table(
        "admin_schools",
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["admin_id"], ["admins.id"], name=op.f("fk_admin_schools_admin_id_admins")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_admin_schools_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("admin_id", "school_id", name=op.f("pk_admin_schools")),
    )
    op.create_table(
        "eligibility_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("checked_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_eligibility_lists_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_lists")),
        sa.UniqueConstraint("school_id", "month", name="uq_eligibility_lists_school_month"),
    )
    op.create_table(
        "pupils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("iin", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("class_name", sa.String(length=20), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.LargeBinary(length=16), nullable=False),
        sa.Column("display", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_pupils_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupils")),
        sa.UniqueConstraint("iin", name=op.f("uq_pupils_iin")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_pupils_pseudonym")),
    )
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pupils_school_id"), ["school_id"], unique=False)

    op.create_table(
        "card_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("uid_hash", sa.LargeBinary(length=16), nullable=False),
        sa.Column("registered_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_card_registrations_pupil_id_pupils")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_registrations")),
        sa.UniqueConstraint("uid_hash", name=op.f("uq_card_registrations_uid_hash")),
    )
    with op.batch_alter_table("card_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_registrations_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "consent_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["eligibility_lists.id"], name=op.f("fk_consent_issues_list_id_eligibility_lists")
        ),
        sa.ForeignKeyConstraint(["pupil_id"], ["pupils.id"], name=op.f("fk_consent_issues_pupil_id_pupils")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_issues")),
        sa.UniqueConstraint("list_id", "pupil_id", name="uq_consent_issues_list_pupil"),
    )
    with op.batch_alter_table("consent_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_issues_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "consent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("sent_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["eligibility_lists.id"], name=op.f("fk_consent_requests_list_id_eligibility_lists")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["parents.id"], name=op.f("fk_consent_requests_parent_id_parents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_requests")),
        sa.UniqueConstraint("list_id", "parent_id", name="uq_consent_requests_list_parent"),
    )
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_requests_list_id"), ["list_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consent_requests_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consent_requests_phone"), ["phone"], unique=False)

    op.create_table(
        "eligibility_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=True),
        sa.Column("result", sa.String(length=10), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["eligibility_lists.id"],
            name=op.f("fk_eligibility_entries_list_id_eligibility_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_eligibility_entries_pupil_id_pupils")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_entries")),
        sa.UniqueConstraint("list_id", "pupil_id", name="uq_eligibility_entries_list_pupil"),
    )
    with op.batch_alter_table("eligibility_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eligibility_entries_list_id"), ["list_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eligibility_entries_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "guardianships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["parents.id"], name=op.f("fk_guardianships_parent_id_parents")
        ),
        sa.ForeignKeyConstraint(["pupil_id"], ["pupils.id"], name=op.f("fk_guardianships_pupil_id_pupils")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardianships")),
        sa.UniqueConstraint("pupil_id", "parent_id", name="uq_guardianships_pupil_parent"),
    )
    with op.batch_alter_table("guardianships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guardianships_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_guardianships_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("min_serial", sa.Integer(), nullable=False),
        sa.Column("next_serial", sa.Integer(), nullable=False),
        sa.Column("updated_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pupil_id"], ["pupils.id"], name=op.f("fk_vouchers_pupil_id_pupils")),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_vouchers_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("pupil_id", "school_year", name="uq_vouchers_pupil_year"),
    )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vouchers_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_status"), ["status"], unique=False)

    op.create_table(
        "consent_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["eligibility_lists.id"], name=op.f("fk_consent_subjects_list_id_eligibility_lists")
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_consent_subjects_pupil_id_pupils")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_consent_subjects_request_id_consent_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_subjects")),
        sa.UniqueConstraint("list_id", "pupil_id", name="uq_consent_subjects_list_pupil"),
    )
    with op.batch_alter_table("consent_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_subjects_request_id"), ["request_id"], unique=False)

    op.create_table(
        "revoked_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_revoked_tokens_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revoked_tokens")),
        sa.UniqueConstraint("voucher_id", "serial", name="uq_revoked_tokens_voucher_serial"),
    )
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", backend.adapters.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["consent_requests.id"], name=op.f("fk_sms_messages_request_id_consent_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_messages_phone"), ["phone"], unique=False)
        batch_op.create_index("ix_sms_messages_status_direction", ["status", "direction"], unique=False)

    op.create_table(
        "voucher_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("at", backend.adapters.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("old_status", sa.String(length=20), nullable=True),
        sa.Column("new_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_voucher_events_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_events")),
    )
    with op.batch_alter_table("voucher_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_events_voucher_id"), ["voucher_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voucher_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_events_voucher_id"))

    op.drop_table("voucher_events")
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_messages_status_direction")
        batch_op.drop_index(batch_op.f("ix_sms_messages_phone"))

    op.drop_table("sms_messages")
    op.drop_table("revoked_tokens")
    with op.batch_alter_table("consent_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_subjects_request_id"))

    op.drop_table("consent_subjects")
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vouchers_status"))
        batch_op.drop_index(batch_op.f("ix_vouchers_school_id"))

    op.drop_table("vouchers")
    with op.batch_alter_table("guardianships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardianships_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_guardianships_parent_id"))

    op.drop_table("guardianships")
    with op.batch_alter_table("eligibility_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eligibility_entries_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_eligibility_entries_list_id"))

    op.drop_table("eligibility_entries")
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_requests_phone"))
        batch_op.drop_index(batch_op.f("ix_consent_requests_parent_id"))
        batch_op.drop_index(batch_op.f("ix_consent_requests_list_id"))

    op.drop_table("consent_requests")
    with op.batch_alter_table("consent_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_issues_pupil_id"))

    op.drop_table("consent_issues")
    with op.batch_alter_table("card_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_registrations_pupil_id"))

    op.drop_table("card_registrations")
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pupils_school_id"))

    op.drop_table("pupils")
    op.drop_table("eligibility_lists")
    op.drop_table("admin_schools")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schools_district"))

    op.drop_table("schools")
    with op.batch_alter_table("import_rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_rejections_run_id"))

    op.drop_table("import_rejections")
    op.drop_table("suppliers")
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_jobs_pending")

    op.drop_table("scheduled_jobs")
    with op.batch_alter_table("parents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parents_phone"))

    op.drop_table("parents")
    with op.batch_alter_table("parent_otps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parent_otps_phone"))

    op.drop_table("parent_otps")
    op.drop_table("import_runs")
    op.drop_table("auth_sessions")
    op.drop_table("admins")
