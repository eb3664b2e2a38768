"""A parent's notification settings: browser push subscriptions, the SMS digest opt-in, the in-app list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.auth.model import Principal
from backend.errors import DomainError
from backend.notify.model import NotifyReason
from backend.unit_of_work import UnitOfWork

from .delivery_tables import NotifyPreferenceRow, ParentNoticeRow, PushSubscriptionRow

MAX_SUBSCRIPTIONS = 10  # browsers per parent; the oldest goes when an eleventh subscribes


def _b64url(value: str, *, size: int, what: str) -> str:
    import base64

    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise DomainError(NotifyReason.BAD_SUBSCRIPTION, f"{what} must be {size} bytes, base64url")
    return value


def subscribe(
    uow: UnitOfWork,
    parent: Principal,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    language: str,
    now: datetime,
) -> PushSubscriptionRow:
    if not endpoint.startswith(("https://", "http://")) or len(endpoint) > 1000:
        raise DomainError(
            NotifyReason.BAD_SUBSCRIPTION, "the endpoint is an http(s) URL of at most 1000 characters"
        )
    _b64url(p256dh, size=65, what="p256dh")
    _b64url(auth, size=16, what="auth")
    session = uow.session
    row = session.scalars(select(PushSubscriptionRow).where(PushSubscriptionRow.endpoint == endpoint)).first()
    if row is None:
        row = PushSubscriptionRow(endpoint=endpoint, created_at=now)
        session.add(row)
    row.parent_id, row.p256dh, row.auth, row.language = parent.parent_id, p256dh, auth, language
    session.flush()
    ids = list(
        session.scalars(
            select(PushSubscriptionRow.id)
            .where(PushSubscriptionRow.parent_id == parent.parent_id)
            .order_by(PushSubscriptionRow.id.desc())
        )
    )
    if len(ids) > MAX_SUBSCRIPTIONS:
        session.execute(
            delete(PushSubscriptionRow).where(PushSubscriptionRow.id.in_(ids[MAX_SUBSCRIPTIONS:]))
        )
    uow.commit()
    return row


def unsubscribe(session: Session, parent: Principal, endpoint: str) -> None:
    session.execute(
        delete(PushSubscriptionRow).where(
            PushSubscriptionRow.endpoint == endpoint, PushSubscriptionRow.parent_id == parent.parent_id
        )
    )


def subscription_count(session: Session, parent: Principal) -> int:
    return len(
        session.scalars(
            select(PushSubscriptionRow.id).where(PushSubscriptionRow.parent_id == parent.parent_id)
        ).all()
    )


def sms_digest(session: Session, parent: Principal) -> bool:
    row = session.get(NotifyPreferenceRow, parent.parent_id)
    return bool(row and row.sms_digest)


def set_sms_digest(uow: UnitOfWork, parent: Principal, on: bool) -> None:
    row = uow.session.get(NotifyPreferenceRow, parent.parent_id)
    if row is None:
        uow.session.add(NotifyPreferenceRow(parent_id=parent.parent_id, sms_digest=on))
    else:
        row.sms_digest = on
    uow.commit()


def notices_for(session: Session, parent: Principal, limit: int = 100) -> list[ParentNoticeRow]:
    """The in-app list, newest first."""
    return list(
        session.scalars(
            select(ParentNoticeRow)
            .where(ParentNoticeRow.parent_id == parent.parent_id)
            .order_by(ParentNoticeRow.at.desc(), ParentNoticeRow.id.desc())
            .limit(limit)
        )
    )
