"""Sign-in endpoints: admin password, parent one-time code by SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field

from backend.deps import CtxDep, dispatch_sms_after_response
from backend.unit_of_work import UnitOfWork

from . import services
from .dependencies import bearer_token

router = APIRouter(prefix="/api/auth/v1", tags=["auth"])


class AdminLogin(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10)  # when the account has a second factor


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
def admin_login(body: AdminLogin, ctx: CtxDep) -> TokenOut:
    return _login(
        ctx, partial(services.login_admin, login=body.login, password=body.password, totp=body.totp)
    )


@router.post("/parent/otp", status_code=202)
def parent_otp(body: OtpRequest, ctx: CtxDep, background: BackgroundTasks) -> dict[str, bool]:
    with UnitOfWork(ctx.session_factory) as uow:
        services.request_otp(
            uow.session,
            phone=body.phone,
            now=ctx.clock.now(),
            ttl=timedelta(seconds=ctx.settings.otp_ttl_seconds),
        )
        uow.commit()
    dispatch_sms_after_response(background, ctx)
    return {"sent": True}


@router.post("/parent/login")
def parent_login(body: ParentLogin, ctx: CtxDep) -> TokenOut:
    return _login(ctx, partial(services.login_parent, phone=body.phone, code=body.code))


@router.post("/parent/egov")
def parent_egov_login(body: EgovLogin, ctx: CtxDep) -> TokenOut:
    """eGov sign-in behind `AppContext.egov`; 503 EGOV_UNAVAILABLE until an adapter is configured."""
    return _login(ctx, partial(services.login_parent_egov, egov=ctx.egov, assertion=body.assertion))


def _login(ctx: CtxDep, attempt: Callable[..., str]) -> TokenOut:
    """Run one sign-in attempt, called as `attempt(session, now=, ttl=)`."""
    with UnitOfWork(ctx.session_factory) as uow:
        try:
            token = attempt(
                uow.session, now=ctx.clock.now(), ttl=timedelta(seconds=ctx.settings.session_ttl_seconds)
            )
        finally:
            uow.commit()  # a failed attempt counts toward the lockout even though the login is refused
    return TokenOut(token=token)


@router.post("/logout", status_code=204)
def logout(request: Request, ctx: CtxDep) -> None:
    """Ends the caller's session (admin or parent)."""
    token = bearer_token(request)
    with UnitOfWork(ctx.session_factory) as uow:
        services.logout(uow.session, token)
        uow.commit()
