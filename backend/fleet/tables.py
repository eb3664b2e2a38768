"""Fleet tables: enrolment codes, terminals, each school's current signed allowlist, pupils' ID cards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class EnrolmentCodeRow(Base):
    __tablename__ = "enrolment_codes"
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    canteen_id: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    terminal_id: Mapped[int | None] = mapped_column(Integer)


class TerminalRow(Base):
    __tablename__ = "terminals"
    # one active terminal per device key, also under concurrent enrolments
    __table_args__ = (
        Index(
            "uq_terminals_active_kid",
            "kid",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index("ix_terminals_change_seq", "change_seq"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    canteen_id: Mapped[int] = mapped_column(Integer)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    kid: Mapped[bytes] = mapped_column(LargeBinary(8))
    hostname: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16))  # TerminalStatus
    software_version: Mapped[str] = mapped_column(String(40), default="")
    last_sync: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime)
    backlog: Mapped[int] = mapped_column(Integer, default=0)
    clock_offset: Mapped[float | None] = mapped_column(Float)
    faults: Mapped[list[str]] = mapped_column(JSON, default=list)
    disk_free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Raised by triggers (migration 0013_map304) when a column the terminal map holds changes.
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class AllowlistRow(Base):
    """The school's current bundle: its sequence only rises; `fingerprint` is of the content sans seq."""

    __tablename__ = "allowlists"
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_gzip: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(48))


class CardRegistration(Base):
    __tablename__ = "card_registrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    uid_hash: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AllowlistVersionRow(Base):
    """The school's change counter, raised by triggers (migration 0008_scale) on every write its bundle
    depends on; absent means 0. Part of the bundle's ETag, so a conditional request reads only this row."""

    __tablename__ = "allowlist_versions"
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))  # as the terminals'
