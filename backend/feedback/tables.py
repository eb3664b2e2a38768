"""Feedback tables: one rating per served meal; complaints with their resolution."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class RatingRow(Base):
    __tablename__ = "meal_ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[bytes] = mapped_column(
        LargeBinary(16), unique=True
    )  # once per meal; no FK: meals are partitioned
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))
    pupil_id: Mapped[int] = mapped_column(Integer)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the school's supplier then
    stars: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ComplaintRow(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_district_status", "district", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Integer)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    district: Mapped[str] = mapped_column(String(100))  # routed to this district's admins
    event_id: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # received | forwarded | answered | closed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_by: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    # e-Otinish: when the appeals system receipted the forwarded complaint, and its reference there
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    appeal_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
