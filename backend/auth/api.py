"""Sign-in endpoints: admin password, parent one-time code by SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field

from backend.deps import CtxDep, UowDep, dispatch_sms_after_response

from . import services
from .dependencies import bearer_token

router = APIRouter(prefix="/api/auth/v1", tags=["auth"])


class AdminLogin(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class OtpRequest(BaseModel):
    phone: str = Field(min_length=5, max_length=30)


class ParentLogin(BaseModel):
    phone: str = Field(min_length=5, max_length=30)
    code: str = Field(min_length=4, max_length=10)


class EgovLogin(BaseModel):
    assertion: str = Field(min_length=1, max_length=20_000)


class TokenOut(BaseModel):
    token: str


@router.post("/admin/login")
def admin_login(body: AdminLogin, ctx: CtxDep, uow: UowDep) -> TokenOut:
    return _login(ctx, uow, partial(services.login_admin, login=body.login, password=body.password))


@router.post("/parent/otp", status_code=202)
def parent_otp(body: OtpRequest, ctx: CtxDep, uow: UowDep, background: BackgroundTasks) -> dict[str, bool]:
    services.request_otp(
        uow, phone=body.phone, now=ctx.clock.now(), ttl=timedelta(seconds=ctx.settings.otp_ttl_seconds)
    )
    dispatch_sms_after_response(background, ctx)
    return {"sent": True}


@router.post("/parent/login")
def parent_login(body: ParentLogin, ctx: CtxDep, uow: UowDep) -> TokenOut:
    return _login(ctx, uow, partial(services.login_parent, phone=body.phone, code=body.code))


@router.post("/parent/egov")
def parent_egov_login(body: EgovLogin, ctx: CtxDep, uow: UowDep) -> TokenOut:
    """eGov sign-in behind `AppContext.egov`; 503 EGOV_UNAVAILABLE until an adapter is configured."""
    return _login(ctx, uow, partial(services.login_parent_egov, egov=ctx.egov, assertion=body.assertion))


def _login(ctx: CtxDep, uow: UowDep, attempt: Callable[..., str]) -> TokenOut:
    """Run one sign-in attempt, called as `attempt(uow, now=, ttl=)`."""
    token = attempt(uow, now=ctx.clock.now(), ttl=timedelta(seconds=ctx.settings.session_ttl_seconds))
    return TokenOut(token=token)


@router.post("/logout", status_code=204)
def logout(request: Request, uow: UowDep) -> None:
    """Ends the caller's session (admin or parent)."""
    services.logout(uow, bearer_token(request))
