"""Reference data (migration 0001): suppliers, schools, pupils, parents and who is whose parent.

Every feature reads these as the join targets of its own queries; only roster's writers (imports, the
supplier and school set-up) change them; a district's own settings for the school year
(migration 0006_school_year) are reference data of the same kind. On a distributed PostgreSQL they are the reference tables."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    # Bank details the act of completed work is paid to (migration 0007).
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    bank_bik: Mapped[str | None] = mapped_column(String(11), nullable=True)
    bank_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)  # who set it up


class SupplierLink(Base):
    """A supplier serves a school from `valid_from` to `valid_to` (inclusive; None: open-ended). Links
    of one school never overlap (migration 0007)."""

    __tablename__ = "supplier_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)


class School(Base):
    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    region: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(100), index=True)
    # The supplier before dated links existed; a link covering a day wins (roster.suppliers.supplier_on).
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), nullable=True)


class Pupil(Base):
    __tablename__ = "pupils"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    grade: Mapped[int] = mapped_column(Integer)
    class_name: Mapped[str] = mapped_column(String(20))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    pseudonym: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    display: Mapped[str] = mapped_column(String(40))


class Parent(Base):
    __tablename__ = "parents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    # "kk", "ru" or "kk+ru" (the order's default: both languages in one message).
    language: Mapped[str] = mapped_column(String(8), default="kk+ru")


class Guardianship(Base):
    __tablename__ = "guardianships"
    __table_args__ = (UniqueConstraint("pupil_id", "parent_id", name="uq_guardianships_pupil_parent"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # mother | father | guardian | trustee


class DistrictSettingsRow(Base):
    """What a district decides for itself; a district without a row takes the defaults."""

    __tablename__ = "district_settings"
    district: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Grade 1–4 pupils with no linked parent: may the school activate their vouchers?
    school_activates_unlinked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Last day of the school year (month, day); None: Settings.school_year_end_month/day.
    year_end_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    year_end_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
