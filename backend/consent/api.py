"""Consent endpoints: the SMS provider's inbound webhook and the district admin's follow-up tools."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.api_types import IdPath
from backend.auth import Principal, Role, require_admin
from backend.consent.tables import ConsentRequest
from backend.deps import CtxDep, dispatch_sms_after_response
from backend.eligibility.tables import EligibilityList
from backend.error_shape import errors
from backend.errors import DomainError, not_found
from backend.sms.webhook_auth import WebhookReason, authenticate
from backend.unit_of_work import UnitOfWork

from . import services
from .model import IssueReason

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

    def handle() -> None:
        with UnitOfWork(ctx.session_factory) as uow:
            if proof.signature is not None and services.seen_signature(
                uow.session, proof.signature, now, ctx.settings.sms_webhook_window_seconds
            ):
                raise DomainError(WebhookReason.REPLAYED, "this signed call was already received")
            services.handle_reply(
                uow.session, phone=body.phone, text=body.text, settings=ctx.settings, now=now
            )
            uow.commit()

    await run_in_threadpool(handle)
    dispatch_sms_after_response(background, ctx)
    return ReplyOut()


@router.get("/api/admin/v1/consent/followups")
def followups(principal: Staff, ctx: CtxDep, reason: IssueReason | None = None) -> list[services.FollowUp]:
    with ctx.session_factory() as s:
        return services.followups(s, principal, reason)


@router.get("/api/admin/v1/eligibility-lists/{list_id}/consent-requests")
def requests(list_id: IdPath, principal: Staff, ctx: CtxDep) -> list[RequestOut]:
    with ctx.session_factory() as s:
        school_id = s.scalar(select(EligibilityList.school_id).where(EligibilityList.id == list_id))
        if school_id is None or school_id not in principal.school_ids:
            raise not_found("eligibility list")
        rows = s.scalars(
            select(ConsentRequest).where(ConsentRequest.list_id == list_id).order_by(ConsentRequest.id)
        )
        return [RequestOut.model_validate(r) for r in rows]


@router.post("/api/admin/v1/consent/requests/{request_id}/reask")
def reask(request_id: IdPath, principal: District, ctx: CtxDep, background: BackgroundTasks) -> RequestOut:
    with UnitOfWork(ctx.session_factory) as uow:
        r = services.reask(uow.session, principal, request_id, settings=ctx.settings, now=ctx.clock.now())
        uow.commit()
        out = RequestOut.model_validate(r)
    dispatch_sms_after_response(background, ctx)
    return out
