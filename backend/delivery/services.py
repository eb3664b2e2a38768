"""Queue and push outbound documents. A document is queued once per key (the same report day or
complaint never twice); the worker pushes due ones, each in its own short transaction, so a slow
receiver holds no lock. A failure is retried after 1, 2, 4 … minutes (at most an hour apart)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.locking import for_update
from backend.adapters.outbound import DeliveryError, Sink

from .tables import DeliveryRow

MAX_BACKOFF = timedelta(hours=1)
PENDING, DELIVERED = "pending", "delivered"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the receiving system answered for one document."""

    channel: str
    key: str
    receipt: str
    delivered_at: datetime


# Called in the transaction that records a receipt (e.g. a complaint becomes "forwarded").
OnReceipt = Callable[[Session, Receipt], None]


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def enqueue(session: Session, *, channel: str, key: str, document: dict[str, Any], now: datetime) -> bool:
    """Queues a document unless one with this key exists; returns whether it was queued."""
    if session.scalar(select(DeliveryRow.id).where(DeliveryRow.key == key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                DeliveryRow(
                    channel=channel,
                    key=key,
                    payload=json.dumps(document, ensure_ascii=False, sort_keys=True),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    except IntegrityError:  # a concurrent transaction queued it first
        return False
    return True


def push_due(
    session_factory: sessionmaker[Session],
    sinks: Mapping[str, Sink],
    now: datetime,
    *,
    on_receipt: Mapping[str, OnReceipt] | None = None,
    limit: int = 200,
) -> dict[str, int]:
    """Sends due documents of channels that have a sink; returns counts delivered and failed."""
    counts = {"delivered": 0, "failed": 0}
    with session_factory() as session:
        due = list(
            session.scalars(
                select(DeliveryRow.id)
                .where(
                    DeliveryRow.status == PENDING,
                    DeliveryRow.next_attempt_at <= now,
                    DeliveryRow.channel.in_(sorted(sinks)),
                )
                .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
                .limit(limit)
            )
        )
    for row_id in due:
        with session_factory() as session, session.begin():
            stmt = select(DeliveryRow).where(DeliveryRow.id == row_id, DeliveryRow.status == PENDING)
            row = session.scalars(for_update(session, stmt, skip_locked=True)).first()
            if row is None:  # another worker has it
                continue
            # Claim: the next attempt is put off first, so a worker dying mid-send retries later.
            row.attempts += 1
            row.next_attempt_at = now + backoff(row.attempts)
            channel, key, document = row.channel, row.key, json.loads(row.payload)
        try:
            receipt = sinks[channel].send(key, document)
        except DeliveryError as exc:
            with session_factory() as session, session.begin():
                failed = session.get(DeliveryRow, row_id)
                if failed is not None:
                    failed.last_error = str(exc)[:300]
            counts["failed"] += 1
            continue
        with session_factory() as session, session.begin():
            done = session.get(DeliveryRow, row_id)
            if done is None or done.status == DELIVERED:
                continue
            done.status, done.receipt, done.delivered_at, done.last_error = DELIVERED, receipt, now, None
            hook = (on_receipt or {}).get(channel)
            if hook is not None:
                hook(session, Receipt(channel, key, receipt, now))
        counts["delivered"] += 1
    return counts


@dataclass(frozen=True, slots=True)
class Delivery:
    """A queued document as the console and the tests read it."""

    key: str
    status: str
    attempts: int
    receipt: str | None
    last_error: str | None
    document: dict[str, Any]


def _delivery(r: DeliveryRow) -> Delivery:
    return Delivery(r.key, r.status, r.attempts, r.receipt, r.last_error, json.loads(r.payload))


def deliveries(session: Session, channel: str) -> list[Delivery]:
    stmt = select(DeliveryRow).where(DeliveryRow.channel == channel).order_by(DeliveryRow.id)
    return [_delivery(r) for r in session.scalars(stmt)]


def deliveries_of(session: Session, keys: Sequence[str]) -> list[Delivery]:
    """The documents queued under these keys (a page's worth: the caller passes few)."""
    if not keys:
        return []
    stmt = select(DeliveryRow).where(DeliveryRow.key.in_(list(keys))).order_by(DeliveryRow.id)
    return [_delivery(r) for r in session.scalars(stmt)]
