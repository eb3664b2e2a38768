"""Consent endpoints: the SMS provider's inbound webhook and the district admin's follow-up tools."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from backend.api_types import IdPath
from backend.auth import Principal, Role, require_admin
from backend.deps import CtxDep, UowDep, dispatch_sms_after_response
from backend.error_shape import errors
from backend.sms.webhook_auth import authenticate

from . import services
from .model import ConsentStatus, IssueReason

router = APIRouter(tags=["consent"])

District = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]
Staff = Annotated[
    Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SOCIAL_PEDAGOGUE))
]


class InboundSms(BaseModel):
    phone: str = Field(alias="from", min_length=1, max_length=30)
    text: str = Field(max_length=2000)


class ReplyOut(BaseModel):
    outcome: Literal["received"] = "received"


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


@router.post("/api/sms/v1/inbound", responses=errors(401))
async def inbound(
    body: InboundSms,
    request: Request,
    ctx: CtxDep,
    uow: UowDep,
    background: BackgroundTasks,
    x_sms_token: Annotated[str | None, Header(max_length=200)] = None,
    x_sms_timestamp: Annotated[str | None, Header(max_length=20)] = None,
    x_sms_signature: Annotated[str | None, Header(max_length=200)] = None,
) -> ReplyOut:
    """A parent's reply, from the SMS provider. The answer is the same whatever the number and text:
    what happened is in the inbound log, not told to the caller."""
    now = ctx.clock.now()
    proof = authenticate(
        ctx.settings,
        await request.body(),
        token=x_sms_token,
        timestamp=x_sms_timestamp,
        signature=x_sms_signature,
        now=now,
    )
    await run_in_threadpool(
        partial(
            services.handle_reply,
            uow,
            phone=body.phone,
            text=body.text,
            settings=ctx.settings,
            now=now,
            signature=proof.signature,
        )
    )
    dispatch_sms_after_response(background, ctx)
    return ReplyOut()


@router.get("/api/admin/v1/consent/followups")
def followups(principal: Staff, uow: UowDep, reason: IssueReason | None = None) -> list[services.FollowUp]:
    return services.followups(uow.session, principal, reason)


@router.get("/api/admin/v1/eligibility-lists/{list_id}/consent-requests")
def requests(list_id: IdPath, principal: Staff, uow: UowDep) -> list[RequestOut]:
    return [RequestOut.model_validate(r) for r in services.requests_of_list(uow.session, principal, list_id)]


class CampaignReaskIn(BaseModel):
    statuses: list[Literal["declined", "expired"]] = Field(min_length=1, max_length=2)


class CampaignReaskOut(BaseModel):
    reasked: int


@router.post("/api/admin/v1/eligibility-lists/{list_id}/consent-reask")
def reask_campaign(
    list_id: IdPath,
    body: CampaignReaskIn,
    principal: District,
    ctx: CtxDep,
    uow: UowDep,
    background: BackgroundTasks,
) -> CampaignReaskOut:
    """Asks again every parent of the school and month's campaign whose request was declined or closed
    unanswered (as `statuses` says): one SMS per parent."""
    n = services.reask_campaign(
        uow,
        principal,
        list_id,
        [ConsentStatus(s) for s in body.statuses],
        settings=ctx.settings,
        now=ctx.clock.now(),
    )
    dispatch_sms_after_response(background, ctx)
    return CampaignReaskOut(reasked=n)


@router.post("/api/admin/v1/consent/requests/{request_id}/reask")
def reask(
    request_id: IdPath, principal: District, ctx: CtxDep, uow: UowDep, background: BackgroundTasks
) -> RequestOut:
    r = services.reask(uow, principal, request_id, settings=ctx.settings, now=ctx.clock.now())
    out = RequestOut.model_validate(r)
    dispatch_sms_after_response(background, ctx)
    return out
