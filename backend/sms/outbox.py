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
from .sealing import CODE_MASK, seal, unmask, unseal

STALE_CLAIM = timedelta(minutes=10)
UNSEALABLE = "CODE_UNSEALABLE"


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


def queue_code_sms(
    session: Session, *, phone: str, template: str, code: str, key: bytes, kind: str, now: datetime
) -> SmsMessage:
    """Queue a message carrying a one-time code: `template` has `{code}`; the row holds it masked and
    the code sealed (backend.sms.sealing) until the gateway takes it."""
    msg = queue_sms(session, phone=phone, body=template.format(code=CODE_MASK), kind=kind, now=now)
    session.flush()
    msg.sealed = seal(key, msg.id, code)
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
    session_factory: sessionmaker[Session],
    gateway: SmsGateway,
    clock: Clock,
    batch: int = 200,
    *,
    seal_key: bytes | None = None,
) -> int:
    """Send queued messages; returns how many went out.

    Three short steps per batch, so no transaction (and on SQLite no write lock) is held while the
    provider answers: claim rows (queued → sending, row-locked), send outside any transaction, record
    the outcome (sent, or back to queued with the error). A dispatcher that died mid-send leaves rows
    `sending`; after STALE_CLAIM they are claimed again (at-least-once; the message id travels as an
    idempotency key). A failed message is retried by the next call, not in a loop within this one.
    A sealed code is opened with `seal_key` just for the gateway call and wiped once sent; one that does
    not open (another secret) is dropped as `failed`: the code is useless to anyone by then.
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
            claimed = [(m.id, m.phone, m.body, m.sealed) for m in rows]
            uow.commit()
        if not claimed:
            return sent
        outcomes: list[tuple[int, str | None, str | None]] = []
        for message_id, phone, body, sealed in claimed:
            if sealed is not None:
                code = unseal(seal_key, message_id, sealed) if seal_key else None
                if code is None:
                    outcomes.append((message_id, None, UNSEALABLE))
                    continue
                body = unmask(body, code)
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
                    row.sealed = None
                    sent += 1
                elif error == UNSEALABLE:
                    row.status, row.note, row.sealed = SmsStatus.FAILED, error, None
                else:
                    row.status, row.note = SmsStatus.QUEUED, error
                    failed.add(message_id)
            uow.commit()
