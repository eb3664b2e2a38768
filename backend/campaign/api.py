"""The cross-check route: the head or the district runs it on an approved list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends
from pydantic import BaseModel

from backend.api_types import IdPath
from backend.auth import Principal, Role, require_admin
from backend.deps import CtxDep, UowDep, dispatch_sms_after_response

from . import services

router = APIRouter(prefix="/api/admin/v1", tags=["eligibility"])

Checker = Annotated[Principal, Depends(require_admin(Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN))]


class CheckOut(BaseModel):
    confirmed: int
    returned: int
    vouchers_formed: int
    suspended: int
    consent_requests: int
    consent_joined: int
    consent_issues: dict[str, int]


@router.post("/eligibility-lists/{list_id}/check")
def check(
    list_id: IdPath, principal: Checker, ctx: CtxDep, uow: UowDep, background: BackgroundTasks
) -> CheckOut:
    r = services.check(
        uow, principal, list_id, registry=ctx.registry, settings=ctx.settings, now=ctx.clock.now()
    )
    dispatch_sms_after_response(background, ctx)
    return CheckOut(
        confirmed=r.confirmed,
        returned=r.returned,
        vouchers_formed=r.vouchers_formed,
        suspended=r.suspended,
        consent_requests=r.consent.requests,
        consent_joined=r.consent.joined,
        consent_issues=dict(r.consent.issues),
    )
