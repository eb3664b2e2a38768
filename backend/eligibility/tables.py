"""The monthly eligibility lists and their entries (migration 0001); categories as data and lists returned
by the head (migration 0006_school_year)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class EligibilityList(Base):
    """A school's monthly list: the consent campaign of that month."""

    __tablename__ = "eligibility_lists"
    __table_args__ = (UniqueConstraint("school_id", "month", name="uq_eligibility_lists_school_month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    month: Mapped[date] = mapped_column(Date)  # first day of the month
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | approved | checked
    created_by: Mapped[int] = mapped_column(Integer)
    approved_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The head's comment when returning the list to the pedagogue (migration 0007).
    return_comment: Mapped[str | None] = mapped_column(String(500), nullable=True)


class EligibilityEntry(Base):
    __tablename__ = "eligibility_entries"
    __table_args__ = (UniqueConstraint("list_id", "pupil_id", name="uq_eligibility_entries_list_pupil"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("eligibility_lists.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    result: Mapped[str | None] = mapped_column(String(10), nullable=True)  # confirmed | returned
    reason: Mapped[str | None] = mapped_column(String(30), nullable=True)


class EligibilityCategoryRow(Base):
    """A category a grade 5–11 pupil may be listed under and the plan it gives (1 free, 2 discounted).
    The order's three are seeded by the migration; a district may add others (e.g. an emergency)."""

    __tablename__ = "eligibility_categories"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    plan: Mapped[int] = mapped_column(Integer)
    # Checked against the state register; a district's own category is confirmed by the list itself.
    in_register: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ListReturnRow(Base):
    """The head sent a list back to the social pedagogue, with a comment (audit of every return)."""

    __tablename__ = "eligibility_list_returns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("eligibility_lists.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text)
    by: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
