"""Eligibility tables added by migration 0006_school_year: categories as data, lists returned by the head,
and the district's settings for the school year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


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


class DistrictSettingsRow(Base):
    """What a district decides for itself; a district without a row takes the defaults."""

    __tablename__ = "district_settings"
    district: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Grade 1–4 pupils with no linked parent: may the school activate their vouchers?
    school_activates_unlinked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Last day of the school year (month, day); None: Settings.school_year_end_month/day.
    year_end_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    year_end_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
