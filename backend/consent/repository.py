"""The consent feature's queries, so its services read as the rules they implement.

Every read and bulk write of the consent tables (and the roster reads consent needs) is here; the
services in `services.py` decide, this module fetches and stores. Bulk paths stay bulk: pupils and
parents are read in chunks, requests, subjects and issues inserted in one statement each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.adapters.bulk import bulk_insert, chunks
from backend.adapters.locking import for_update
from backend.eligibility.queries import list_ids_of_months, month_of_list, school_lists
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
        """Each parent's request of this list's month, whichever school's list made it: siblings at two
        schools are asked once (the parent's latest request of the month)."""
        month = month_of_list(self.session, list_id)
        if not parent_ids or month is None:
            return {}
        out: dict[int, ConsentRequest] = {}
        for chunk in chunks(sorted(parent_ids)):
            stmt = (
                select(ConsentRequest)
                .where(
                    ConsentRequest.list_id.in_(list_ids_of_months(month, month)),
                    ConsentRequest.parent_id.in_(chunk),
                )
                .order_by(ConsentRequest.id)
            )
            out.update({r.parent_id: r for r in self.session.scalars(stmt)})
        return out

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

    def linked(self, pupil_ids: Sequence[int]) -> set[int]:
        """Which of these pupils have a parent linked."""
        out: set[int] = set()
        for chunk in chunks(sorted(set(pupil_ids))):
            out.update(
                self.session.scalars(select(Guardianship.pupil_id).where(Guardianship.pupil_id.in_(chunk)))
            )
        return out

    def grades(self, pupil_ids: Sequence[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        for chunk in chunks(sorted(set(pupil_ids))):
            rows = self.session.execute(select(Pupil.id, Pupil.grade).where(Pupil.id.in_(chunk)))
            out.update({pupil_id: grade for pupil_id, grade in rows})
        return out

    def no_phone_issues(self, parent_ids: Sequence[int], first: date, last: date) -> list[ConsentIssue]:
        """Open NO_PHONE issues of these parents' children in lists from month `first` to `last`, oldest
        first (a later campaign's issue is written later)."""
        stmt = (
            select(ConsentIssue)
            .join(Guardianship, Guardianship.pupil_id == ConsentIssue.pupil_id)
            .where(
                Guardianship.parent_id.in_(sorted(set(parent_ids))),
                ConsentIssue.reason == IssueReason.NO_PHONE,
                ConsentIssue.resolved_at.is_(None),
                ConsentIssue.list_id.in_(list_ids_of_months(first, last)),
            )
            .order_by(ConsentIssue.id)
        )
        return list(self.session.scalars(stmt))

    def latest_status_by_pupil(self, pupil_ids: Sequence[int], first: date, last: date) -> dict[int, str]:
        """The status of each pupil's latest request in lists from month `first` to `last`."""
        latest: dict[int, str] = {}
        for chunk in chunks(sorted(set(pupil_ids))):
            stmt = (
                select(ConsentSubject.pupil_id, ConsentRequest.status)
                .join(ConsentRequest, ConsentRequest.id == ConsentSubject.request_id)
                .where(
                    ConsentSubject.pupil_id.in_(chunk),
                    ConsentSubject.list_id.in_(list_ids_of_months(first, last)),
                )
                .order_by(ConsentRequest.id)
            )
            latest.update({pupil_id: status for pupil_id, status in self.session.execute(stmt)})
        return latest

    def latest_status_of_phone(self, phone: str) -> str | None:
        """The status of the last request decided or closed for this phone."""
        stmt = (
            select(ConsentRequest.status)
            .where(ConsentRequest.phone == phone)
            .order_by(ConsentRequest.decided_at.desc(), ConsentRequest.id.desc())
            .limit(1)
        )
        return self.session.scalar(stmt)

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

    def _open_issues(self, school_ids: Collection[int], reason: IssueReason | None) -> Select[Any]:
        lists = school_lists(school_ids)
        stmt = (
            select(ConsentIssue, lists.c.school_id, Pupil.full_name, Pupil.class_name)
            .join(lists, lists.c.list_id == ConsentIssue.list_id)
            .join(Pupil, Pupil.id == ConsentIssue.pupil_id)
            .where(ConsentIssue.resolved_at.is_(None))
        )
        return stmt if reason is None else stmt.where(ConsentIssue.reason == reason)

    def open_issues(
        self,
        school_ids: Collection[int],
        reason: IssueReason | None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[FollowUp]:
        stmt = self._open_issues(school_ids, reason).order_by(ConsentIssue.id).offset(offset).limit(limit)
        return [
            FollowUp(i.id, i.list_id, school_id, i.pupil_id, name, cls, i.reason, i.at)
            for i, school_id, name, cls in self.session.execute(stmt).all()
        ]

    def open_issue_count(self, school_ids: Collection[int], reason: IssueReason | None) -> int:
        counted = self._open_issues(school_ids, reason).with_only_columns(func.count()).order_by(None)
        return self.session.scalar(counted) or 0

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
