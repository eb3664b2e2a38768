"""Admin views: the SMS outbox of the caller's schools (development adapter's messages, and the record
of what went out in production). One-time codes are never shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from backend.auth import Principal, Role, require_admin
from backend.consent.tables import ConsentRequest
from backend.deps import CtxDep
from backend.eligibility.tables import EligibilityList
from backend.sms.tables import SmsMessage

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
    principal: District, ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[SmsOut]:
    if not principal.school_ids:
        return []
    with ctx.session_factory() as s:
        rows = s.scalars(
            select(SmsMessage)
            .join(ConsentRequest, ConsentRequest.id == SmsMessage.request_id)
            .join(EligibilityList, EligibilityList.id == ConsentRequest.list_id)
            .where(
                SmsMessage.direction == "out",
                SmsMessage.kind != "otp",
                EligibilityList.school_id.in_(sorted(principal.school_ids)),
            )
            .order_by(SmsMessage.id.desc())
            .limit(limit)
        )
        return [SmsOut.model_validate(m) for m in rows]
