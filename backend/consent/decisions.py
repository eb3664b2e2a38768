"""The record of each consent decision, whichever way it came: an SMS reply or the parent's app."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class ConsentDecisionRow(Base):
    __tablename__ = "consent_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("consent_requests.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(10))  # agreed | declined
    actor: Mapped[str] = mapped_column(String(60))  # parent-sms:+7… | parent-app:<parent id>
    at: Mapped[datetime] = mapped_column(UtcDateTime)
