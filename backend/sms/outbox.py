"""The SMS outbox: services queue messages in their own transaction; dispatch hands them to the gateway.

Queuing inside the use case's transaction means a message exists if and only if the decision that caused
it was committed; dispatch locks each row, so two dispatchers never send the same message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.locking import for_update
from backend.adapters.wallet_tables import SmsMessage
from backend.clock import Clock

from .gateway import SmsGateway, SmsSendError


def queue_sms(
    session: Session, *, phone: str, body: str, kind: str, now: datetime, request_id: int | None = None
) -> SmsMessage:
    msg = SmsMessage(
        direction="out",
        phone=phone,
        kind=kind,
        body=body,
        status="queued",
        request_id=request_id,
        created_at=now,
    )
    session.add(msg)
    return msg


def log_inbound(session: Session, *, phone: str, body: str, now: datetime, status: str, note: str) -> None:
    session.add(
        SmsMessage(
            direction="in",
            phone=phone,
            kind="reply",
            body=body[:2000],
            status=status,
            note=note,
            created_at=now,
        )
    )


def dispatch_pending(
    session_factory: sessionmaker[Session], gateway: SmsGateway, clock: Clock, batch: int = 200
) -> int:
    """Send queued messages; returns how many went out. A failed send stays queued with the error noted."""
    sent = 0
    while True:
        with session_factory() as session, session.begin():
            stmt = (
                select(SmsMessage)
                .where(SmsMessage.direction == "out", SmsMessage.status == "queued")
                .order_by(SmsMessage.id)
                .limit(batch)
            )
            rows = session.scalars(for_update(session, stmt, skip_locked=True)).all()
            if not rows:
                return sent
            progressed = False
            for msg in rows:
                try:
                    msg.provider_id = gateway.send(msg.id, msg.phone, msg.body)
                except SmsSendError as exc:
                    msg.note = str(exc)[:200]
                    continue
                msg.status = "sent"
                msg.sent_at = clock.now()
                sent += 1
                progressed = True
            if not progressed:
                return sent
