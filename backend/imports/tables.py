"""Import runs and the rows they rejected (migration 0001)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.adapters.orm import Base
from backend.adapters.types import UtcDateTime


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


class ImportJob(Base):
    """An uploaded file waiting for, or going through, its import in the background (migration 0007):
    the page shows `done` of `total` rows and can be left and opened again; `run_id` when finished."""

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)
    admin_id: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # dropped once imported
    status: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed | interrupted
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # parsing | checking | saving while running (migration 0011); the heartbeat comes with each report
    phase: Mapped[str | None] = mapped_column(String(10), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
