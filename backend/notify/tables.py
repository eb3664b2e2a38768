"""Notification outbox: written in the same transaction as the meal, delivered later by a sender."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class NoticeRow(Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_pending", "sent_at", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)  # one notice per meal event
    kind: Mapped[str] = mapped_column(String(20))
    # no foreign key or index (0012): never read by voucher, and the meal written with it holds the key
    voucher_id: Mapped[int] = mapped_column(Integer)
    school_id: Mapped[int | None] = mapped_column(Integer)  # where the meal was served: its key's school
    pupil_id: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
