"""What other features may read of the SMS log: read models, never the table class."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .model import OTP_KIND, SmsDirection
from .tables import SmsMessage


@dataclass(frozen=True, slots=True)
class SentSms:
    id: int
    phone: str
    kind: str
    body: str
    status: str
    created_at: datetime
    sent_at: datetime | None


def _outgoing_about(request_ids: Select[int], status: str | None) -> Select[SmsMessage]:
    stmt = select(SmsMessage).where(
        SmsMessage.direction == SmsDirection.OUT,
        SmsMessage.kind != OTP_KIND,
        SmsMessage.request_id.in_(request_ids),
    )
    return stmt if status is None else stmt.where(SmsMessage.status == status)


def outgoing_about(
    session: Session, request_ids: Select[int], *, limit: int, offset: int = 0, status: str | None = None
) -> list[SentSms]:
    """Outgoing messages about these consent requests, newest first; one-time codes are never listed."""
    stmt = _outgoing_about(request_ids, status).order_by(SmsMessage.id.desc()).offset(offset).limit(limit)
    return [
        SentSms(m.id, m.phone, m.kind, m.body, m.status, m.created_at, m.sent_at)
        for m in session.scalars(stmt)
    ]


def count_outgoing_about(session: Session, request_ids: Select[int], *, status: str | None, most: int) -> int:
    """How many of those messages there are, counted up to `most` (a district's log grows without end)."""
    capped = _outgoing_about(request_ids, status).with_only_columns(SmsMessage.id).limit(most).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0
