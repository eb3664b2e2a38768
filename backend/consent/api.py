"""Consent endpoints: the SMS provider's inbound webhook and the district admin's follow-up tools."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header
from pydantic import BaseModel, ConfigDict, Field

from backend.auth import Principal, Role, require_admin
from backend.deps import CtxDep, UowDep, dispatch_sms_after_response
from backend.errors import DomainError

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
    uow: UowDep,
    background: BackgroundTasks,
    x_sms_token: Annotated[str | None, Header()] = None,
) -> ReplyOut:
    expected = ctx.settings.sms_webhook_token
    if expected is not None and not hmac.compare_digest(expected, x_sms_token or ""):
        raise DomainError(ConsentReason.WEBHOOK_UNAUTHENTICATED, "bad webhook token")
    result = services.handle_reply(
        uow, phone=body.phone, text=body.text, settings=ctx.settings, now=ctx.clock.now()
    )
    dispatch_sms_after_response(background, ctx)
    return ReplyOut(outcome=result.outcome)


@router.get("/api/admin/v1/consent/followups")
def followups(principal: Staff, uow: UowDep, reason: IssueReason | None = None) -> list[services.FollowUp]:
    return services.followups(uow.session, principal, reason)


@router.get("/api/admin/v1/eligibility-lists/{list_id}/consent-requests")
def requests(list_id: int, principal: Staff, uow: UowDep) -> list[RequestOut]:
    return [RequestOut.model_validate(r) for r in services.requests_of_list(uow.session, principal, list_id)]


@router.post("/api/admin/v1/consent/requests/{request_id}/reask")
def reask(
    request_id: int, principal: District, ctx: CtxDep, uow: UowDep, background: BackgroundTasks
) -> RequestOut:
    r = services.reask(uow, principal, request_id, settings=ctx.settings, now=ctx.clock.now())
    out = RequestOut.model_validate(r)
    dispatch_sms_after_response(background, ctx)
    return out
