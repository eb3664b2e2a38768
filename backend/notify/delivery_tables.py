"""Delivery of parent notices: the in-app list, browser push subscriptions, each push's outcome,
the SMS digest opt-in and the digests sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class ParentNoticeRow(Base):
    """One notice in a parent's in-app list; push delivery is tracked on it."""

    __tablename__ = "parent_notices"
    __table_args__ = (
        UniqueConstraint("source", "parent_id", name="uq_parent_notices_source_parent"),
        Index("ix_parent_notices_push_pending", "push_done_at", "next_push_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # meal_served, voucher_suspended, consent_agreed, ...
    source: Mapped[str] = mapped_column(String(80))  # what caused it: meal:<event>, voucher-event:<id>, ...
    pupil_id: Mapped[int | None] = mapped_column(Integer)
    display: Mapped[str] = mapped_column(String(40), default="")  # the child's initials and class
    at: Mapped[datetime] = mapped_column(UtcDateTime)  # when it happened
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    push_done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_push_at: Mapped[datetime] = mapped_column(UtcDateTime)
    push_attempts: Mapped[int] = mapped_column(Integer, default=0)


class PushSubscriptionRow(Base):
    __tablename__ = "push_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))  # the browser's P-256 key, base64url
    auth: Mapped[str] = mapped_column(String(50))  # its 16-byte auth secret, base64url
    language: Mapped[str] = mapped_column(String(5))  # the page language when subscribed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PushDeliveryRow(Base):
    """Each attempt to push a notice to one subscription, with the push service's answer."""

    __tablename__ = "push_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("parent_notices.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(Integer)  # None once the subscription is gone
    outcome: Mapped[str] = mapped_column(String(10))  # sent | retry | gone | gave_up
    status: Mapped[int | None] = mapped_column(Integer)  # HTTP status, None when unreachable
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class NotifyPreferenceRow(Base):
    __tablename__ = "notify_preferences"
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), primary_key=True)
    sms_digest: Mapped[bool] = mapped_column(Boolean, default=False)  # opt-in: one SMS a day


class SmsDigestRow(Base):
    """A day's digest queued for a parent: once per parent and day."""

    __tablename__ = "sms_digests"
    __table_args__ = (UniqueConstraint("parent_id", "day", name="uq_sms_digests_parent_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))
    day: Mapped[date] = mapped_column(Date)
    notices: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class NotifyCursorRow(Base):
    """How far the collector has read an append-only source (voucher events, consent decisions)."""

    __tablename__ = "notify_cursors"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
