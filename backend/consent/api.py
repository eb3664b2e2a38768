"""Consent endpoints: the SMS provider's inbound webhook and the district admin's follow-up tools."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.auth import Principal, Role, require_admin
from backend.consent.tables import ConsentRequest
from backend.deps import CtxDep, dispatch_sms_after_response
from backend.eligibility.tables import EligibilityList
from backend.errors import DomainError, not_found
from backend.unit_of_work import UnitOfWork

from . import services
from .model import ConsentReason, IssueReason

router = APIRouter(tags=["consent"])

District = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]
Staff = Annotated[
    Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SOCIAL_PEDAGOGUE))
]


class InboundSms(BaseModel):
    phone: str = Field(alias="from", min_length=3, max_length=30)
    text: str = Field(max_length=2000)


class ReplyOut(BaseModel):
    outcome: str


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    list_id: int
    parent_id: int
    status: str
    attempt: int
    sent_at: datetime
    reminded_at: datetime | None
    decided_at: datetime | None


@router.post("/api/sms/v1/inbound")
def inbound(
    body: InboundSms,
    ctx: CtxDep,
    background: BackgroundTasks,
    x_sms_token: Annotated[str | None, Header()] = None,
) -> ReplyOut:
    expected = ctx.settings.sms_webhook_token
    if expected is not None and not hmac.compare_digest(expected, x_sms_token or ""):
        raise DomainError(ConsentReason.WEBHOOK_UNAUTHENTICATED, "bad webhook token")
    with UnitOfWork(ctx.session_factory) as uow:
        result = services.handle_reply(
            uow.session, phone=body.phone, text=body.text, settings=ctx.settings, now=ctx.clock.now()
        )
        uow.commit()
    dispatch_sms_after_response(background, ctx)
    return ReplyOut(outcome=result.outcome)


@router.get("/api/admin/v1/consent/followups")
def followups(principal: Staff, ctx: CtxDep, reason: IssueReason | None = None) -> list[services.FollowUp]:
    with ctx.session_factory() as s:
        return services.followups(s, principal, reason)


@router.get("/api/admin/v1/eligibility-lists/{list_id}/consent-requests")
def requests(list_id: int, principal: Staff, ctx: CtxDep) -> list[RequestOut]:
    with ctx.session_factory() as s:
        school_id = s.scalar(select(EligibilityList.school_id).where(EligibilityList.id == list_id))
        if school_id is None or school_id not in principal.school_ids:
            raise not_found("eligibility list")
        rows = s.scalars(
            select(ConsentRequest).where(ConsentRequest.list_id == list_id).order_by(ConsentRequest.id)
        )
        return [RequestOut.model_validate(r) for r in rows]


@router.post("/api/admin/v1/consent/requests/{request_id}/reask")
def reask(request_id: int, principal: District, ctx: CtxDep, background: BackgroundTasks) -> RequestOut:
    with UnitOfWork(ctx.session_factory) as uow:
        r = services.reask(uow.session, principal, request_id, settings=ctx.settings, now=ctx.clock.now())
        uow.commit()
        out = RequestOut.model_validate(r)
    dispatch_sms_after_response(background, ctx)
    return out
