"""What other features may read of the SMS log: read models, never the table class."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
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


def outgoing_about(session: Session, request_ids: Select[int], *, limit: int) -> list[SentSms]:
    """Outgoing messages about these consent requests, newest first; one-time codes are never listed."""
    rows = session.scalars(
        select(SmsMessage)
        .where(
            SmsMessage.direction == SmsDirection.OUT,
            SmsMessage.kind != OTP_KIND,
            SmsMessage.request_id.in_(request_ids),
        )
        .order_by(SmsMessage.id.desc())
        .limit(limit)
    )
    return [SentSms(m.id, m.phone, m.kind, m.body, m.status, m.created_at, m.sent_at) for m in rows]
