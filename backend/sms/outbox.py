"""The SMS outbox: services queue messages in their own transaction; dispatch hands them to the gateway.

Queuing inside the use case's transaction means a message exists if and only if the decision that caused
it was committed; dispatch claims each row under a lock, so two dispatchers never send the same message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.bulk import bulk_insert
from backend.adapters.locking import for_update
from backend.adapters.sms_gateways import SmsGateway, SmsSendError
from backend.clock import Clock
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork

from .model import SmsDirection, SmsStatus

STALE_CLAIM = timedelta(minutes=10)


def queue_sms(
    session: Session, *, phone: str, body: str, kind: str, now: datetime, request_id: int | None = None
) -> SmsMessage:
    msg = SmsMessage(
        direction=SmsDirection.OUT,
        phone=phone,
        kind=kind,
        body=body,
        status=SmsStatus.QUEUED,
        request_id=request_id,
        created_at=now,
    )
    session.add(msg)
    return msg


@dataclass(frozen=True, slots=True)
class Sms:
    phone: str
    body: str
    kind: str
    request_id: int | None = None


def queue_many(session: Session, messages: Sequence[Sms], *, now: datetime) -> None:
    """Queues many messages in one bulk insert (a campaign's first requests)."""
    bulk_insert(
        session,
        SmsMessage,
        [
            {
                "direction": SmsDirection.OUT,
                "phone": m.phone,
                "kind": m.kind,
                "body": m.body,
                "status": SmsStatus.QUEUED,
                "request_id": m.request_id,
                "created_at": now,
            }
            for m in messages
        ],
    )


def log_inbound(
    session: Session, *, phone: str, body: str, now: datetime, status: SmsStatus, note: str
) -> None:
    session.add(
        SmsMessage(
            direction=SmsDirection.IN,
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
    """Send queued messages; returns how many went out.

    Three short steps per batch, so no transaction (and on SQLite no write lock) is held while the
    provider answers: claim rows (queued → sending, row-locked), send outside any transaction, record
    the outcome (sent, or back to queued with the error). A dispatcher that died mid-send leaves rows
    `sending`; after STALE_CLAIM they are claimed again (at-least-once; the message id travels as an
    idempotency key). A failed message is retried by the next call, not in a loop within this one.
    """
    sent = 0
    failed: set[int] = set()
    while True:
        now = clock.now()
        with UnitOfWork(session_factory) as uow:
            session = uow.session
            stmt = (
                select(SmsMessage)
                .where(
                    SmsMessage.direction == SmsDirection.OUT,
                    or_(
                        SmsMessage.status == SmsStatus.QUEUED,
                        and_(
                            SmsMessage.status == SmsStatus.SENDING, SmsMessage.claimed_at < now - STALE_CLAIM
                        ),
                    ),
                )
                .order_by(SmsMessage.id)
                .limit(batch)
            )
            if failed:
                stmt = stmt.where(SmsMessage.id.notin_(sorted(failed)))
            rows = session.scalars(for_update(session, stmt, skip_locked=True)).all()
            for msg in rows:
                msg.status, msg.claimed_at = SmsStatus.SENDING, now
            claimed = [(m.id, m.phone, m.body) for m in rows]
            uow.commit()
        if not claimed:
            return sent
        outcomes: list[tuple[int, str | None, str | None]] = []
        for message_id, phone, body in claimed:
            try:
                outcomes.append((message_id, gateway.send(message_id, phone, body), None))
            except SmsSendError as exc:
                outcomes.append((message_id, None, str(exc)[:200]))
        with UnitOfWork(session_factory) as uow:
            session = uow.session
            for message_id, provider_id, error in outcomes:
                row = session.get(SmsMessage, message_id)
                assert row is not None
                if error is None:
                    row.status, row.provider_id, row.sent_at = SmsStatus.SENT, provider_id, clock.now()
                    sent += 1
                else:
                    row.status, row.note = SmsStatus.QUEUED, error
                    failed.add(message_id)
            uow.commit()
