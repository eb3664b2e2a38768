"""Reads of the reference data that several features need."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .tables import Pupil


def pupils_of_school(session: Session, school_id: int) -> list[Pupil]:
    stmt = select(Pupil).where(Pupil.school_id == school_id).order_by(Pupil.class_name, Pupil.full_name)
    return list(session.scalars(stmt))
