"""Reads of the reference data that several features need."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .tables import Pupil


def pupils_of_school(session: Session, school_id: int) -> list[Pupil]:
    stmt = select(Pupil).where(Pupil.school_id == school_id).order_by(Pupil.class_name, Pupil.full_name)
    return list(session.scalars(stmt))


def search_pupils(
    session: Session,
    school_id: int,
    *,
    query: str = "",
    class_name: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Pupil], int]:
    """One page of the school's pupils whose name contains `query` (and of one class), and how many match."""
    conds = [Pupil.school_id == school_id]
    if query.strip():
        conds.append(Pupil.full_name.ilike(f"%{query.strip()}%"))
    if class_name:
        conds.append(Pupil.class_name == class_name)
    total = session.scalar(select(func.count()).select_from(Pupil).where(*conds)) or 0
    stmt = select(Pupil).where(*conds).order_by(Pupil.class_name, Pupil.full_name).offset(offset).limit(limit)
    return list(session.scalars(stmt)), total


def classes_of_school(session: Session, school_id: int) -> list[str]:
    stmt = select(Pupil.class_name).where(Pupil.school_id == school_id).distinct().order_by(Pupil.class_name)
    return list(session.scalars(stmt))
