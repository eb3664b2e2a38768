"""The console on a district of 100,000 pupils (bench/bench_console.py): meal counts read from an index.

The acts, timesheets and the dashboard count a month's (or a day's) meals per school by day, status,
slot, plan and pupil. `ix_meal_events_tally` (school, day, status, slot, plan, pupil) holds every
column those counts read, so PostgreSQL answers them from the index alone (an index-only scan) instead
of reading each meal row; it replaces `ix_meal_events_school_day_slot`, whose (school, day) prefix it
keeps, so a served meal still updates as many indexes as before. The SMS outbox of a district finds
its messages through the consent requests of its lists: `ix_sms_messages_request_id` lets it read
only those instead of the whole country's log.

Revision ID: 0011_consolebench
Revises: 0011_money
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011_consolebench"
down_revision = "0011_money"
branch_labels = None
depends_on = None

TALLY = ["school_id", "local_date", "status", "slot", "plan", "pupil_id"]


def upgrade() -> None:
    op.create_index("ix_meal_events_tally", "meal_events", TALLY)
    op.drop_index("ix_meal_events_school_day_slot", table_name="meal_events")
    op.create_index(op.f("ix_sms_messages_request_id"), "sms_messages", ["request_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_messages_request_id"), table_name="sms_messages")
    op.create_index("ix_meal_events_school_day_slot", "meal_events", ["school_id", "local_date", "slot"])
    op.drop_index("ix_meal_events_tally", table_name="meal_events")
