"""Wallet tables (migration 0001_wallet): schools, pupils, parents, eligibility, consent, SMS, vouchers, auth.

Typed SQLAlchemy 2 ORM classes on the one shared Base. Domain rules live in backend/<area>/model.py;
these classes only hold rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .orm import Base
from .types import UtcDateTime


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))


class School(Base):
    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    region: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(100), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), nullable=True)


class Pupil(Base):
    __tablename__ = "pupils"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    grade: Mapped[int] = mapped_column(Integer)
    class_name: Mapped[str] = mapped_column(String(20))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    pseudonym: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    display: Mapped[str] = mapped_column(String(40))


class Parent(Base):
    __tablename__ = "parents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    # "kk", "ru" or "kk+ru" (the order's default: both languages in one message).
    language: Mapped[str] = mapped_column(String(8), default="kk+ru")


class Guardianship(Base):
    __tablename__ = "guardianships"
    __table_args__ = (UniqueConstraint("pupil_id", "parent_id", name="uq_guardianships_pupil_parent"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # mother | father | guardian | trustee


class EligibilityList(Base):
    """A school's monthly list: the consent campaign of that month."""

    __tablename__ = "eligibility_lists"
    __table_args__ = (UniqueConstraint("school_id", "month", name="uq_eligibility_lists_school_month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    month: Mapped[date] = mapped_column(Date)  # first day of the month
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | approved | checked
    created_by: Mapped[int] = mapped_column(Integer)
    approved_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class EligibilityEntry(Base):
    __tablename__ = "eligibility_entries"
    __table_args__ = (UniqueConstraint("list_id", "pupil_id", name="uq_eligibility_entries_list_pupil"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("eligibility_lists.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    result: Mapped[str | None] = mapped_column(String(10), nullable=True)  # confirmed | returned
    reason: Mapped[str | None] = mapped_column(String(30), nullable=True)


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


class SmsMessage(Base):
    """Every SMS in and out: the outbox (queued → sent) and the inbound log."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_status_direction", "status", "direction"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    phone: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # request, reminder, agreed, declined, help, otp, reply...
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # queued | sending | sent | received | ignored
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("consent_requests.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # by a dispatcher
    # A one-time code, sealed (backend.sms.sealing) until the gateway takes it; `body` holds it masked.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True)


class ScheduledJob(Base):
    """Durable timers: a job is due at due_at, named by a unique key, done once (done_at set)."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (Index("ix_scheduled_jobs_pending", "done_at", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (UniqueConstraint("pupil_id", "school_year", name="uq_vouchers_pupil_year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    school_year: Mapped[int] = mapped_column(Integer)
    plan: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), index=True)
    valid_until: Mapped[date] = mapped_column(Date)
    min_serial: Mapped[int] = mapped_column(Integer, default=0)
    next_serial: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VoucherEvent(Base):
    __tablename__ = "voucher_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(60))
    old_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    new_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"
    __table_args__ = (UniqueConstraint("voucher_id", "serial", name="uq_revoked_tokens_voucher_serial"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"))
    serial: Mapped[int] = mapped_column(Integer)


class CardRegistration(Base):
    __tablename__ = "card_registrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    uid_hash: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Admin(Base):
    __tablename__ = "admins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Password guessing: after MAX_FAILED_LOGINS wrong passwords the login is locked for a while.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AdminSchool(Base):
    __tablename__ = "admin_schools"
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)


class AuthSession(Base):
    """Bearer sessions; only the SHA-256 of the token is stored."""

    __tablename__ = "auth_sessions"
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # admin | parent
    subject_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ParentOtp(Base):
    __tablename__ = "parent_otps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class ImportRun(Base):
    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))  # schools | pupils | parents | links
    source: Mapped[str] = mapped_column(String(200))
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)


class ImportRejection(Base):
    __tablename__ = "import_rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(300))
