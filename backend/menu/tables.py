"""Menu tables (migration 0006_school_year): what a school serves per day and meal slot."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class MenuRow(Base):
    __tablename__ = "menus"
    __table_args__ = (UniqueConstraint("school_id", "day", "slot", name="uq_menus_school_day_slot"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(Integer)
    # [{"kk": ..., "ru": ..., "allergens": [...]}, ...] as validated by backend.menu.model
    dishes_json: Mapped[str] = mapped_column(Text)
    published_by: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
