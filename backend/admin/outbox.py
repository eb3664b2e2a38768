"""The SMS outbox of the caller's schools for the console: one page of the SMS log's read model
(backend.sms.queries) about the schools' consent requests (backend.consent.queries), with a state filter.
One-time codes are never shown."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from backend.consent.queries import request_ids_of_schools
from backend.sms.queries import SentSms, outgoing_about

MAX_SCAN = 10_000  # the outbox page looks at the latest messages of the district


def _latest(session: Session, school_ids: Collection[int], status: str | None) -> list[SentSms]:
    if not school_ids:
        return []
    rows = outgoing_about(session, request_ids_of_schools(school_ids), limit=MAX_SCAN)
    return [m for m in rows if not status or m.status == status]


def outbox(
    session: Session, school_ids: Collection[int], *, limit: int, offset: int = 0, status: str | None = None
) -> list[SentSms]:
    return _latest(session, school_ids, status)[offset : offset + limit]


def outbox_count(session: Session, school_ids: Collection[int], status: str | None = None) -> int:
    return len(_latest(session, school_ids, status))
