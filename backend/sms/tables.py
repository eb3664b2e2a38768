"""Every SMS in and out (migration 0001; the sealed code, 0005_security)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class SmsMessage(Base):
    """Every SMS in and out: the outbox (queued → sent) and the inbound log."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_status_direction", "status", "direction"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    phone: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # request, reminder, agreed, declined, help, otp, reply...
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # queued | sending | sent | received | ignored
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_requests.id"), nullable=True, index=True
    )  # indexed in migration 0011_consolebench: a district's outbox reads its messages by request
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # by a dispatcher
    # A one-time code, sealed (backend.sms.sealing) until the gateway takes it; `body` holds it masked.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
