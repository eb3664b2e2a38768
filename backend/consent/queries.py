"""What other features may read of the consent requests: read functions and sub-selects, never the
table classes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from backend.eligibility.queries import list_ids_of_schools
from backend.roster.tables import Pupil

from .decisions import ConsentDecisionRow
from .model import ConsentStatus
from .tables import ConsentIssue, ConsentRequest, ConsentSubject


def request_ids_of_schools(school_ids: Collection[int]) -> Select[int]:
    """The ids of the consent requests of these schools' lists, as a sub-select (one round trip)."""
    return select(ConsentRequest.id).where(ConsentRequest.list_id.in_(list_ids_of_schools(school_ids)))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a consent request ended for its parent: a decision (SMS or app), or closed unanswered."""

    request_id: int
    attempt: int
    parent_id: int
    outcome: str  # agreed | declined | expired
    at: datetime
    decision_id: int | None  # the decision's id, the position to read on from; None for an expiry


def decisions_after(session: Session, position: int, *, limit: int) -> list[Outcome]:
    """Decisions recorded after `position` (a decision id), oldest first."""
    rows = session.execute(
        select(ConsentDecisionRow, ConsentRequest.parent_id)
        .join(ConsentRequest, ConsentRequest.id == ConsentDecisionRow.request_id)
        .where(ConsentDecisionRow.id > position)
        .order_by(ConsentDecisionRow.id)
        .limit(limit)
    ).all()
    return [Outcome(d.request_id, d.attempt, parent_id, d.decision, d.at, d.id) for d, parent_id in rows]


def expired_since(session: Session, since: datetime) -> list[Outcome]:
    """Requests closed unanswered since `since`."""
    rows = session.execute(
        select(
            ConsentRequest.id, ConsentRequest.attempt, ConsentRequest.parent_id, ConsentRequest.decided_at
        ).where(ConsentRequest.status == ConsentStatus.EXPIRED, ConsentRequest.decided_at >= since)
    ).all()
    return [
        Outcome(r.id, r.attempt, r.parent_id, ConsentStatus.EXPIRED.value, r.decided_at, None) for r in rows
    ]


def children_of_requests(session: Session, request_ids: Collection[int]) -> dict[int, str]:
    """The children each request covers (initials and class, comma-separated), in one query."""
    out: dict[int, list[str]] = defaultdict(list)
    if request_ids:
        for rid, display in session.execute(
            select(ConsentSubject.request_id, Pupil.display)
            .join(Pupil, Pupil.id == ConsentSubject.pupil_id)
            .where(ConsentSubject.request_id.in_(sorted(set(request_ids))))
            .order_by(Pupil.id)
        ):
            out[rid].append(display)
    return {rid: ", ".join(names) for rid, names in out.items()}


@dataclass(frozen=True, slots=True)
class OpenIssue:
    pupil_id: int
    reason: str
    since: datetime


def open_issues_at(session: Session, school_id: int, end: datetime) -> list[OpenIssue]:
    """The school's pupils the consent process could not reach (NO_PHONE, UNLINKED …), open at `end`."""
    rows = session.execute(
        select(ConsentIssue.pupil_id, ConsentIssue.reason, ConsentIssue.at)
        .where(
            ConsentIssue.list_id.in_(list_ids_of_schools([school_id])),
            ConsentIssue.at < end,
            (ConsentIssue.resolved_at.is_(None)) | (ConsentIssue.resolved_at >= end),
        )
        .order_by(ConsentIssue.pupil_id, ConsentIssue.id)
    )
    return [OpenIssue(p, r, at) for p, r, at in rows]
