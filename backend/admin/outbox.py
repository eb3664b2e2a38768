"""The SMS outbox of the caller's schools for the console: one page of the SMS log's read model
(backend.sms.queries) about the schools' consent requests (backend.consent.queries), with a state filter.
One-time codes are never shown."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from backend.consent.queries import request_ids_of_schools
from backend.sms.queries import SentSms, count_outgoing_about, outgoing_about

MAX_SCAN = 10_000  # the outbox counts (and so pages) at most the district's latest 10,000 messages


def outbox(
    session: Session, school_ids: Collection[int], *, limit: int, offset: int = 0, status: str | None = None
) -> list[SentSms]:
    """One page of the outbox, paged and filtered in the database (the page reads only its own rows)."""
    if not school_ids or offset >= MAX_SCAN:
        return []
    ids = request_ids_of_schools(school_ids)
    return outgoing_about(session, ids, limit=min(limit, MAX_SCAN - offset), offset=offset, status=status)


def outbox_count(session: Session, school_ids: Collection[int], status: str | None = None) -> int:
    if not school_ids:
        return 0
    return count_outgoing_about(session, request_ids_of_schools(school_ids), status=status, most=MAX_SCAN)
