"""Calendar tables: weekday rule, explicit days (school or district), meal slots, tariffs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base


class SchoolWeekRow(Base):
    """Which weekdays a school teaches (digits 0=Mon … 6=Sun); absent means Monday to Friday."""

    __tablename__ = "school_weeks"
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    weekdays: Mapped[str] = mapped_column(String(7))


class CalendarDayRow(Base):
    """A holiday or an explicit school day for one school, or for every school of a district."""

    __tablename__ = "calendar_days"
    __table_args__ = (
        UniqueConstraint("school_id", "district", "day", name="uq_calendar_days_scope_day"),
        CheckConstraint("(school_id IS NULL) <> (district IS NULL)", name="one_scope"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    district: Mapped[str | None] = mapped_column(String(100), index=True)
    day: Mapped[date] = mapped_column(Date)
    school_day: Mapped[bool] = mapped_column(Boolean)
    slots: Mapped[str | None] = mapped_column(String(32))  # "1,2"; NULL = all the school's slots
    note: Mapped[str] = mapped_column(String(200), default="")


class MealSlotRow(Base):
    __tablename__ = "meal_slots"
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_minute: Mapped[int] = mapped_column(Integer)  # local minutes after midnight
    end_minute: Mapped[int] = mapped_column(Integer)


class TariffRow(Base):
    """Price per plan and slot from valid_from on; school_id NULL is the default for every school."""

    __tablename__ = "tariffs"
    __table_args__ = (
        UniqueConstraint("school_id", "plan", "slot", "valid_from", name="uq_tariffs_school_plan_slot_from"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    plan: Mapped[int] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    state_share_tiyn: Mapped[int] = mapped_column(BigInteger)
