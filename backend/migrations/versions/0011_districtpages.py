"""Import jobs name their phase and keep a heartbeat: the page shows parsing, checking and saving, and a
job whose runner died (a restart mid-import) is marked interrupted instead of "running" forever.

`import_jobs.phase` (parsing | checking | saving, NULL before and after), `import_jobs.heartbeat_at`
(written with each progress report), and `status` widened from 10 to 20 characters for "interrupted".

Revision ID: 0011_districtpages
Revises: 0011_consolebench
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_districtpages"
down_revision = "0011_consolebench"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phase", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column(
            "status", existing_type=sa.String(length=10), type_=sa.String(length=20), existing_nullable=False
        )


def downgrade() -> None:
    # an interrupted job does not fit the old column: it reads as failed with its reason kept
    op.execute("UPDATE import_jobs SET status = 'failed' WHERE status = 'interrupted'")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(length=20), type_=sa.String(length=10), existing_nullable=False
        )
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("phase")
