"""Admin views: the SMS outbox of the caller's schools (development adapter's messages, and the record
of what went out in production). One-time codes are never shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from backend.auth import Principal, Role, require_admin
from backend.consent.queries import request_ids_of_schools
from backend.deps import UowDep
from backend.sms.queries import outgoing_about

router = APIRouter(prefix="/api/admin/v1", tags=["admin"])

District = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]


class SmsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str
    kind: str
    body: str
    status: str
    created_at: datetime
    sent_at: datetime | None


@router.get("/sms/outbox")
def outbox(
    principal: District, uow: UowDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[SmsOut]:
    if not principal.school_ids:
        return []
    messages = outgoing_about(uow.session, request_ids_of_schools(principal.school_ids), limit=limit)
    return [SmsOut.model_validate(m) for m in messages]
