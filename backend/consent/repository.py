"""The consent feature's queries, so its services read as the rules they implement.

Every read and bulk write of the consent tables (and the roster reads consent needs) is here; the
services in `services.py` decide, this module fetches and stores. Bulk paths stay bulk: pupils and
parents are read in chunks, requests, subjects and issues inserted in one statement each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.bulk import bulk_insert, chunks
from backend.adapters.locking import for_update
from backend.eligibility.queries import school_lists
from backend.roster.tables import Guardianship, Parent, Pupil

from .model import ConsentStatus, Guardian, IssueReason
from .tables import ConsentIssue, ConsentRequest, ConsentSubject


@dataclass(frozen=True, slots=True)
class Contact:
    full_name: str
    phone: str | None
    language: str


@dataclass
class Families:
    """Who may be asked about a set of pupils: each pupil's name and guardians, each parent's contact."""

    names: dict[int, str] = field(default_factory=dict)
    guardians: dict[int, list[Guardian]] = field(default_factory=lambda: defaultdict(list))
    contacts: dict[int, Contact] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FollowUp:
    issue_id: int
    list_id: int
    school_id: int
    pupil_id: int
    pupil_name: str
    class_name: str
    reason: str
    since: datetime


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- a campaign's requests -------------------------------------------------------------------

    def covered_pupils(self, list_id: int) -> set[int]:
        """Pupils of the list that some request already covers."""
        stmt = select(ConsentSubject.pupil_id).where(ConsentSubject.list_id == list_id)
        return set(self.session.scalars(stmt))

    def families(self, pupil_ids: Sequence[int]) -> Families:
        out = Families()
        for chunk in chunks(pupil_ids):
            for pupil_id, full_name in self.session.execute(
                select(Pupil.id, Pupil.full_name).where(Pupil.id.in_(chunk))
            ):
                out.names[pupil_id] = full_name
            for pupil_id, role, parent_id, phone, full_name, language in self.session.execute(
                select(
                    Guardianship.pupil_id,
                    Guardianship.role,
                    Parent.id,
                    Parent.phone,
                    Parent.full_name,
                    Parent.language,
                )
                .join(Parent, Parent.id == Guardianship.parent_id)
                .where(Guardianship.pupil_id.in_(chunk))
            ):
                out.guardians[pupil_id].append(Guardian(parent_id, role, phone))
                out.contacts[parent_id] = Contact(full_name, phone, language)
        return out

    def requests_of_parents(self, list_id: int, parent_ids: Collection[int]) -> dict[int, ConsentRequest]:
        """The list's request to each of these parents, if one was made."""
        if not parent_ids:
            return {}
        stmt = select(ConsentRequest).where(
            ConsentRequest.list_id == list_id, ConsentRequest.parent_id.in_(list(parent_ids))
        )
        return {r.parent_id: r for r in self.session.scalars(stmt)}

    def add_requests(self, list_id: int, phones: dict[int, str], now: datetime) -> dict[int, int]:
        """First requests (pending, attempt 1) to these parents at these phones; returns their ids by parent."""
        parents = sorted(phones)
        rows = [
            {
                "list_id": list_id,
                "parent_id": p,
                "phone": phones[p],
                "status": ConsentStatus.PENDING.value,
                "attempt": 1,
                "sent_at": now,
            }
            for p in parents
        ]
        # executemany, then ids by (list, parent): ORM bulk RETURNING is quadratic in the row count
        bulk_insert(self.session, ConsentRequest, rows)
        ids: dict[int, int] = {}
        for chunk in chunks(parents):
            stmt = select(ConsentRequest.parent_id, ConsentRequest.id).where(
                ConsentRequest.list_id == list_id, ConsentRequest.parent_id.in_(chunk)
            )
            ids.update({parent_id: rid for parent_id, rid in self.session.execute(stmt)})
        return ids

    def add_subjects(self, list_id: int, pupils_by_request: Iterable[tuple[int, Sequence[int]]]) -> None:
        rows = [
            {"request_id": rid, "list_id": list_id, "pupil_id": k}
            for rid, kids in pupils_by_request
            for k in kids
        ]
        if rows:
            bulk_insert(self.session, ConsentSubject, rows)

    # --- pupils no request can reach --------------------------------------------------------------

    def issues_of(self, list_id: int, pupil_ids: Collection[int]) -> dict[int, ConsentIssue]:
        stmt = select(ConsentIssue).where(
            ConsentIssue.list_id == list_id, ConsentIssue.pupil_id.in_(list(pupil_ids))
        )
        return {r.pupil_id: r for r in self.session.scalars(stmt)}

    def add_issues(self, list_id: int, issues: Sequence[tuple[int, IssueReason]], now: datetime) -> None:
        rows = [
            {"list_id": list_id, "pupil_id": pid, "reason": reason.value, "at": now, "resolved_at": None}
            for pid, reason in issues
        ]
        if rows:
            bulk_insert(self.session, ConsentIssue, rows)

    def resolve_issues(self, list_id: int, pupil_ids: Sequence[int], now: datetime) -> None:
        for chunk in chunks(sorted(pupil_ids)):
            for issue in self.session.scalars(
                select(ConsentIssue).where(
                    ConsentIssue.list_id == list_id,
                    ConsentIssue.pupil_id.in_(chunk),
                    ConsentIssue.resolved_at.is_(None),
                )
            ):
                issue.resolved_at = now

    def unlinked_by_list(self, pupil_ids: Sequence[int]) -> dict[int, list[int]]:
        """Open UNLINKED issues of these pupils: the pupils waiting in each list."""
        out: dict[int, list[int]] = defaultdict(list)
        for chunk in chunks(sorted(set(pupil_ids))):
            for issue in self.session.scalars(
                select(ConsentIssue).where(
                    ConsentIssue.pupil_id.in_(chunk),
                    ConsentIssue.reason == IssueReason.UNLINKED,
                    ConsentIssue.resolved_at.is_(None),
                )
            ):
                out[issue.list_id].append(issue.pupil_id)
        return out

    def open_issues(self, school_ids: Collection[int], reason: IssueReason | None) -> list[FollowUp]:
        lists = school_lists(school_ids)
        stmt = (
            select(ConsentIssue, lists.c.school_id, Pupil.full_name, Pupil.class_name)
            .join(lists, lists.c.list_id == ConsentIssue.list_id)
            .join(Pupil, Pupil.id == ConsentIssue.pupil_id)
            .where(ConsentIssue.resolved_at.is_(None))
            .order_by(ConsentIssue.id)
        )
        if reason is not None:
            stmt = stmt.where(ConsentIssue.reason == reason)
        return [
            FollowUp(i.id, i.list_id, school_id, i.pupil_id, name, cls, i.reason, i.at)
            for i, school_id, name, cls in self.session.execute(stmt).all()
        ]

    # --- answers ---------------------------------------------------------------------------------

    def knows_phone(self, phone: str) -> bool:
        stmt = select(ConsentRequest.id).where(ConsentRequest.phone == phone).limit(1)
        return self.session.scalar(stmt) is not None

    def pending_locked(
        self, *, phone: str | None = None, parent_id: int | None = None
    ) -> list[ConsentRequest]:
        """The pending requests to a phone or to a parent, oldest first, row-locked for the decision."""
        who = ConsentRequest.phone == phone if phone is not None else ConsentRequest.parent_id == parent_id
        stmt = (
            select(ConsentRequest)
            .where(who, ConsentRequest.status == ConsentStatus.PENDING)
            .order_by(ConsentRequest.id)
        )
        return list(self.session.scalars(for_update(self.session, stmt)).all())

    def request_locked(self, request_id: int) -> ConsentRequest | None:
        stmt = select(ConsentRequest).where(ConsentRequest.id == request_id)
        return self.session.scalars(for_update(self.session, stmt)).first()

    def pupils_of_requests(self, request_ids: Sequence[int]) -> list[int]:
        stmt = select(ConsentSubject.pupil_id).where(ConsentSubject.request_id.in_(list(request_ids)))
        return list(self.session.scalars(stmt).all())

    def pending_with_children(self, parent_id: int) -> list[tuple[int, datetime, str]]:
        """(request id, sent at, child's display) of a parent's pending requests, one row per child."""
        stmt = (
            select(ConsentRequest.id, ConsentRequest.sent_at, Pupil.display)
            .join(ConsentSubject, ConsentSubject.request_id == ConsentRequest.id)
            .join(Pupil, Pupil.id == ConsentSubject.pupil_id)
            .where(ConsentRequest.parent_id == parent_id, ConsentRequest.status == ConsentStatus.PENDING)
            .order_by(ConsentRequest.id, Pupil.id)
        )
        return [(rid, at, display) for rid, at, display in self.session.execute(stmt).all()]

    def children_names(self, request_id: int) -> list[str]:
        stmt = (
            select(Pupil.full_name)
            .join(ConsentSubject, ConsentSubject.pupil_id == Pupil.id)
            .where(ConsentSubject.request_id == request_id)
            .order_by(Pupil.id)
        )
        return list(self.session.scalars(stmt).all())

    def requests_of_list(self, list_id: int) -> list[ConsentRequest]:
        stmt = select(ConsentRequest).where(ConsentRequest.list_id == list_id).order_by(ConsentRequest.id)
        return list(self.session.scalars(stmt))

    # --- parents (roster) ------------------------------------------------------------------------

    def parent(self, parent_id: int) -> Parent | None:
        return self.session.get(Parent, parent_id)

    def language_of_phone(self, phone: str) -> str | None:
        stmt = select(Parent.language).where(Parent.phone == phone).order_by(Parent.id).limit(1)
        return self.session.scalar(stmt)
