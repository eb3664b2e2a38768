"""Sign-in endpoints: admin password, parent one-time code by SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from backend.api_types import Phone
from backend.deps import CtxDep, dispatch_sms_after_response
from backend.error_shape import errors
from backend.errors import RateLimited
from backend.hash_pool import PoolBusy
from backend.unit_of_work import UnitOfWork

from . import services
from .dependencies import bearer_token, client_address
from .model import AuthReason
from .passwords import verify_password

router = APIRouter(prefix="/api/auth/v1", tags=["auth"])


class AdminLogin(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class OtpRequest(BaseModel):
    phone: Phone


class ParentLogin(BaseModel):
    phone: Phone
    code: str = Field(pattern=r"^\d{6}$")


class EgovLogin(BaseModel):
    assertion: str = Field(min_length=1, max_length=20_000)


class TokenOut(BaseModel):
    token: str


@router.post("/admin/login", responses=errors(401, 429))
async def admin_login(body: AdminLogin, request: Request, ctx: CtxDep) -> TokenOut:
    """Password sign-in. The argon2 check runs in AppContext.hash_pool, never in the request threads."""
    address, now = client_address(request), ctx.clock.now()

    def gate() -> services.LoginCandidate:
        with UnitOfWork(ctx.session_factory) as uow:
            return services.admin_login_gate(uow.session, login=body.login, address=address, now=now)

    def finish(ok: bool) -> str:
        with UnitOfWork(ctx.session_factory) as uow:
            try:
                return services.admin_login_finish(
                    uow.session,
                    candidate,
                    login=body.login,
                    address=address,
                    password_ok=ok,
                    now=now,
                    ttl=timedelta(seconds=ctx.settings.session_ttl_seconds),
                )
            finally:
                uow.commit()  # a failure counts toward the cool-down even though the login is refused

    candidate = await run_in_threadpool(gate)
    try:
        ok = await ctx.hash_pool.run(verify_password, candidate.password_hash, body.password)
    except PoolBusy:
        raise RateLimited(AuthReason.LOGIN_BUSY, "too many sign-ins at once; retry in a moment", 1) from None
    return TokenOut(token=await run_in_threadpool(finish, ok))


@router.post("/parent/otp", status_code=202, responses=errors(400, 429))
def parent_otp(
    body: OtpRequest, request: Request, ctx: CtxDep, background: BackgroundTasks
) -> dict[str, bool]:
    """Always `{"sent": true}` for a well-formed number: whether it is on record is not told."""
    with UnitOfWork(ctx.session_factory) as uow:
        try:
            services.request_otp(
                uow.session,
                phone=body.phone,
                address=client_address(request),
                secret=ctx.settings.pseudonym_secret,
                now=ctx.clock.now(),
                ttl=timedelta(seconds=ctx.settings.otp_ttl_seconds),
            )
        finally:
            uow.commit()
    dispatch_sms_after_response(background, ctx)
    return {"sent": True}


@router.post("/parent/login", responses=errors(401, 429))
def parent_login(body: ParentLogin, request: Request, ctx: CtxDep) -> TokenOut:
    return _login(
        ctx,
        partial(
            services.login_parent,
            phone=body.phone,
            code=body.code,
            address=client_address(request),
            secret=ctx.settings.pseudonym_secret,
        ),
    )


@router.post("/parent/egov", responses=errors(401, 403, 503))
def parent_egov_login(body: EgovLogin, ctx: CtxDep) -> TokenOut:
    """eGov sign-in behind `AppContext.egov`; 503 EGOV_UNAVAILABLE until an adapter is configured."""
    return _login(ctx, partial(services.login_parent_egov, egov=ctx.egov, assertion=body.assertion))


def _login(ctx: CtxDep, attempt: Callable[..., str]) -> TokenOut:
    """Run one sign-in attempt, called as `attempt(session, now=, ttl=)`; a failure is committed too."""
    with UnitOfWork(ctx.session_factory) as uow:
        try:
            token = attempt(
                uow.session, now=ctx.clock.now(), ttl=timedelta(seconds=ctx.settings.session_ttl_seconds)
            )
        finally:
            uow.commit()  # a failed attempt counts toward the cool-down even though the login is refused
    return TokenOut(token=token)


@router.post("/logout", status_code=204, responses=errors(401))
def logout(request: Request, ctx: CtxDep) -> None:
    """Ends the caller's session (admin or parent)."""
    token = bearer_token(request)
    with UnitOfWork(ctx.session_factory) as uow:
        services.logout(uow.session, token)
        uow.commit()
