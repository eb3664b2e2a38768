"""Consent campaigns: one request per parent per list, the children it covers, children it could not reach."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class ConsentRequest(Base):
    """One per parent per campaign, whatever the number of children."""

    __tablename__ = "consent_requests"
    __table_args__ = (UniqueConstraint("list_id", "parent_id", name="uq_consent_requests_list_parent"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("eligibility_lists.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(10))  # pending | agreed | declined | expired
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # rises when a district admin re-asks
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ConsentSubject(Base):
    """Which children a request covers; a child is covered by one request per campaign."""

    __tablename__ = "consent_subjects"
    __table_args__ = (UniqueConstraint("list_id", "pupil_id", name="uq_consent_subjects_list_pupil"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("consent_requests.id"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("eligibility_lists.id"))
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"))


class ConsentIssue(Base):
    """A child the consent process could not reach: NO_PHONE (ended) or UNLINKED (district follow-up)."""

    __tablename__ = "consent_issues"
    __table_args__ = (UniqueConstraint("list_id", "pupil_id", name="uq_consent_issues_list_pupil"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("eligibility_lists.id"))
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
