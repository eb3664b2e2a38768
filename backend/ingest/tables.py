"""Ingestion tables: served meals (billable or flagged), their flags, and refusals kept for the record."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class MealEventRow(Base):
    """One served meal. Billable when status is "ok" or "accepted_by_admin" (backend.ingest.model.BILLABLE)."""

    __tablename__ = "meal_events"
    __table_args__ = (
        # Every column the meal counts read (migration 0011_consolebench): answered from the index alone.
        Index("ix_meal_events_tally", "school_id", "local_date", "status", "slot", "plan", "pupil_id"),
        Index("ix_meal_events_voucher_day", "voucher_id", "local_date"),
    )
    id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)  # the terminal's event id
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))  # where it was served
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"))
    pupil_id: Mapped[int | None] = mapped_column(Integer)
    plan: Mapped[int | None] = mapped_column(Integer)  # the voucher's plan when ingested
    slot: Mapped[int | None] = mapped_column(Integer)
    served_at: Mapped[datetime] = mapped_column(UtcDateTime)
    local_date: Mapped[date] = mapped_column(Date)
    method: Mapped[int] = mapped_column(Integer)  # shared_crypto.Method
    token_serial: Mapped[int | None] = mapped_column(Integer)
    wall_trusted: Mapped[bool] = mapped_column(Boolean)
    boot_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    seq: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), index=True)  # MealStatus
    flags: Mapped[list[str]] = mapped_column(JSON)


class MealFlagRow(Base):
    __tablename__ = "meal_flags"
    __table_args__ = (UniqueConstraint("event_id", "code", name="uq_meal_flags_event_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[bytes] = mapped_column(LargeBinary(16))  # a meal_events id; no FK: meals are partitioned
    code: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(300))
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision: Mapped[str | None] = mapped_column(String(10))  # accept | reject
    note: Mapped[str | None] = mapped_column(String(300))


class RefusalRow(Base):
    """A refusal at the counter: not a meal, kept so disputes ("my child was turned away") can be checked."""

    __tablename__ = "meal_refusals"
    __table_args__ = (Index("ix_meal_refusals_school_at", "school_id", "at"),)
    id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    voucher_id: Mapped[int | None] = mapped_column(BigInteger)  # as the terminal read it; may be unknown
    reason: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    method: Mapped[int] = mapped_column(Integer)
    wall_trusted: Mapped[bool] = mapped_column(Boolean)
    boot_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    seq: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
