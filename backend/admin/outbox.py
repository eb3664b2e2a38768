"""The SMS outbox of the caller's schools, read by the API and the console alike. One-time codes are
never shown; messages are those of the schools' consent requests."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from backend.consent.tables import ConsentRequest
from backend.eligibility.tables import EligibilityList
from backend.sms.tables import SmsMessage


def _of_schools(school_ids: Collection[int], status: str | None) -> list[ColumnElement[bool]]:
    conds = [
        SmsMessage.direction == "out",
        SmsMessage.kind != "otp",
        EligibilityList.school_id.in_(sorted(school_ids)),
    ]
    if status:
        conds.append(SmsMessage.status == status)
    return conds


def outbox(
    session: Session, school_ids: Collection[int], *, limit: int, offset: int = 0, status: str | None = None
) -> list[SmsMessage]:
    if not school_ids:
        return []
    return list(
        session.scalars(
            select(SmsMessage)
            .join(ConsentRequest, ConsentRequest.id == SmsMessage.request_id)
            .join(EligibilityList, EligibilityList.id == ConsentRequest.list_id)
            .where(*_of_schools(school_ids, status))
            .order_by(SmsMessage.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def outbox_count(session: Session, school_ids: Collection[int], status: str | None = None) -> int:
    if not school_ids:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(SmsMessage)
            .join(ConsentRequest, ConsentRequest.id == SmsMessage.request_id)
            .join(EligibilityList, EligibilityList.id == ConsentRequest.list_id)
            .where(*_of_schools(school_ids, status))
        )
        or 0
    )
