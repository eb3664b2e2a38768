"""A district's own settings for the school year (rows of `district_settings`, defaults otherwise)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import DomainError
from backend.unit_of_work import UnitOfWork

from .tables import DistrictSettingsRow, School


class DistrictReason(enum.StrEnum):
    YEAR_END_INVALID = "YEAR_END_INVALID"


@dataclass(frozen=True, slots=True)
class DistrictSettings:
    district: str
    school_activates_unlinked: bool = False
    year_end_month: int | None = None
    year_end_day: int | None = None

    def year_end(self, school_year: int, settings: Settings) -> date:
        """The last day vouchers of `school_year` are valid: the district's date, else the configured one."""
        month = self.year_end_month or settings.school_year_end_month
        day = self.year_end_day or settings.school_year_end_day
        return date(school_year + 1, month, day)


def load(session: Session, district: str) -> DistrictSettings:
    row = session.get(DistrictSettingsRow, district)
    if row is None:
        return DistrictSettings(district)
    return DistrictSettings(district, row.school_activates_unlinked, row.year_end_month, row.year_end_day)


def for_school(session: Session, school_id: int) -> DistrictSettings:
    district = session.scalar(select(School.district).where(School.id == school_id))
    return load(session, district or "")


def put(
    uow: UnitOfWork,
    district: str,
    *,
    school_activates_unlinked: bool,
    year_end_month: int | None,
    year_end_day: int | None,
) -> DistrictSettings:
    if (year_end_month is None) != (year_end_day is None):
        raise DomainError(
            DistrictReason.YEAR_END_INVALID, "give both the month and the day of the year's end, or neither"
        )
    if year_end_month is not None and year_end_day is not None:
        if not 5 <= year_end_month <= 8:
            raise DomainError(DistrictReason.YEAR_END_INVALID, "the school year ends between May and August")
        try:
            date(2027, year_end_month, year_end_day)
        except ValueError:
            raise DomainError(
                DistrictReason.YEAR_END_INVALID, f"no day {year_end_day} in month {year_end_month}"
            ) from None
    session = uow.session
    row = session.get(DistrictSettingsRow, district)
    if row is None:
        row = DistrictSettingsRow(district=district)
        session.add(row)
    row.school_activates_unlinked = school_activates_unlinked
    row.year_end_month, row.year_end_day = year_end_month, year_end_day
    uow.commit()
    return load(session, district)
