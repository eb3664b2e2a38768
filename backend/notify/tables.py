"""The meal outbox: written in the same transaction as the meals, expanded into parents' notices later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class MealNoticeBatchRow(Base):
    """The meals one batch stored at one school that have a pupil to tell a parent about: one row per
    batch instead of one per meal (docs/scale.md). Deleted when a worker takes it."""

    __tablename__ = "meal_notice_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(Integer)  # the meals' school: the key they are read by
    meals: Mapped[int] = mapped_column(Integer)
    event_ids: Mapped[bytes] = mapped_column(LargeBinary)  # the meals' 16-byte event ids, back to back
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
