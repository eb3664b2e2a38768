"""Daily report endpoint for the national education database (counts per school, no pupil data)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from backend.api_types import IdQuery
from backend.auth.dependencies import ensure_school, require_admin
from backend.auth.model import Principal, Role
from backend.clock import local_date
from backend.deps import CtxDep, ReaderDep
from backend.errors import DomainError

from . import services
from .model import ReportFormat, ReportReason, render

router = APIRouter(prefix="/api/admin/v1/reports", tags=["reporting"])

Reader = Annotated[
    Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SOCIAL_PEDAGOGUE))
]
MEDIA = {ReportFormat.JSON: "application/json", ReportFormat.CSV: "text/csv; charset=utf-8"}


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(ReportReason.BAD_DATE, f"date must be YYYY-MM-DD, got {text!r}") from exc


def _parse_format(text: str) -> ReportFormat:
    try:
        return ReportFormat(text)
    except ValueError as exc:
        raise DomainError(ReportReason.BAD_FORMAT, f"format is json or csv, got {text!r}") from exc


@router.get("/daily")
def daily(
    ctx: CtxDep,
    reader: ReaderDep,
    principal: Reader,
    day_text: Annotated[str, Query(alias="date")],
    school_id: IdQuery = None,
    fmt_text: Annotated[str, Query(alias="format")] = "json",
) -> Response:
    """One local day's figures for one school, or for every school the caller may see."""
    day = _parse_date(day_text)
    fmt = _parse_format(fmt_text)
    now = ctx.clock.now()
    if day > local_date(now):
        raise DomainError(ReportReason.FUTURE_DATE, f"{day} has not happened yet")
    if school_id is not None:
        ensure_school(principal, school_id)
    school_ids = [school_id] if school_id is not None else sorted(principal.school_ids)
    report = services.daily_report(reader, day, school_ids, now)  # may read the replica within its lag
    filename = f"daily-{day.isoformat()}.{fmt.value}"
    return Response(
        render(report, fmt),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
