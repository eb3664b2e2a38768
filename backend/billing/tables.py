"""Billing tables (migration 0003_reporting): stored versions of each act of completed work.

Timesheets and daily reports are computed from meal events on demand and never stored; an act is
stored once its month is over, so what a school head signs stays readable exactly as signed even
when late batches later change the month (that makes a new version).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class ActRow(Base):
    __tablename__ = "billing_acts"
    __table_args__ = (
        UniqueConstraint("school_id", "month", "version", name="uq_billing_acts_school_month_version"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    month: Mapped[date] = mapped_column(Date)  # first day of the month
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … : a new one whenever the figures change
    content_hash: Mapped[str] = mapped_column(String(64))
    meals: Mapped[int] = mapped_column(Integer)
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    state_tiyn: Mapped[int] = mapped_column(BigInteger)
    parent_tiyn: Mapped[int] = mapped_column(BigInteger)
    lines_json: Mapped[str] = mapped_column(Text)  # the priced lines of this version, as generated
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("admins.id"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class BillingStepRow(Base):
    """One step of the 2026 order's money path for one act version, by whom and when; `late` when it
    was done after its due date. The audit trail of the month's payment."""

    __tablename__ = "billing_steps"
    __table_args__ = (
        UniqueConstraint("school_id", "month", "version", "step", name="uq_billing_steps_act_step"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    month: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
