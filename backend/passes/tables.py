"""Passes: one row per link a parent shared; the phone that opened it holds the pass's secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


class PupilPassRow(Base):
    __tablename__ = "pupil_passes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))  # whose calendar the windows follow
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), index=True)  # who shared it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Only hashes are stored: a database leak hands out neither the link nor the installed pass.
    link_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    link_expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    installed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    device_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    device_label: Mapped[str | None] = mapped_column(String(60))  # browser and system, for the parent's list
    serial: Mapped[int | None] = mapped_column(Integer)  # the serial its tokens carry
    last_refresh_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refreshes: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
