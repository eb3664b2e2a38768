"""Sign-in endpoints: admin password, parent one-time code by SMS."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field

from backend.deps import CtxDep
from backend.services.unit_of_work import UnitOfWork
from backend.sms.outbox import dispatch_pending

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


class TokenOut(BaseModel):
    token: str


@router.post("/admin/login")
def admin_login(body: AdminLogin, ctx: CtxDep) -> TokenOut:
    with UnitOfWork(ctx.session_factory) as uow:
        try:
            token = services.login_admin(
                uow.session,
                login=body.login,
                password=body.password,
                now=ctx.clock.now(),
                ttl=timedelta(seconds=ctx.settings.session_ttl_seconds),
            )
        finally:
            uow.commit()  # a wrong password counts toward the lockout even though the login fails
    return TokenOut(token=token)


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
    # After the response: a slow SMS provider must not hold the request.
    background.add_task(dispatch_pending, ctx.session_factory, ctx.sms, ctx.clock)
    return {"sent": True}


@router.post("/parent/login")
def parent_login(body: ParentLogin, ctx: CtxDep) -> TokenOut:
    with UnitOfWork(ctx.session_factory) as uow:
        try:
            token = services.login_parent(
                uow.session,
                phone=body.phone,
                code=body.code,
                now=ctx.clock.now(),
                ttl=timedelta(seconds=ctx.settings.session_ttl_seconds),
            )
        finally:
            uow.commit()  # failed attempts count even when the login is refused
    return TokenOut(token=token)


@router.post("/logout", status_code=204)
def logout(request: Request, ctx: CtxDep) -> None:
    """Ends the caller's session (admin or parent)."""
    token = bearer_token(request)
    with UnitOfWork(ctx.session_factory) as uow:
        services.logout(uow.session, token)
        uow.commit()
