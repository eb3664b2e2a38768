"""Sign-in endpoints: admin password, parent one-time code by SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from backend.api_types import Phone
from backend.deps import CtxDep, UowDep, dispatch_sms_after_response
from backend.error_shape import errors
from backend.errors import RateLimited
from backend.hash_pool import PoolBusy

from . import services
from .dependencies import bearer_token, client_address
from .model import AuthReason
from .passwords import verify_password

router = APIRouter(prefix="/api/auth/v1", tags=["auth"])


class AdminLogin(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10)  # when the account has a second factor


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
async def admin_login(body: AdminLogin, request: Request, ctx: CtxDep, uow: UowDep) -> TokenOut:
    """Password sign-in. The argon2 check runs in AppContext.hash_pool, never in the request threads."""
    address, now = client_address(request), ctx.clock.now()
    candidate = await run_in_threadpool(
        partial(services.admin_login_gate, uow, login=body.login, address=address, now=now)
    )
    try:
        ok = await ctx.hash_pool.run(verify_password, candidate.password_hash, body.password)
    except PoolBusy:
        raise RateLimited(AuthReason.LOGIN_BUSY, "too many sign-ins at once; retry in a moment", 1) from None
    finish = partial(
        services.admin_login_finish,
        uow,
        candidate,
        login=body.login,
        address=address,
        password_ok=ok,
        now=now,
        ttl=timedelta(seconds=ctx.settings.session_ttl_seconds),
        totp=body.totp,
    )
    return TokenOut(token=await run_in_threadpool(finish))


@router.post("/parent/otp", status_code=202, responses=errors(400, 429))
def parent_otp(
    body: OtpRequest, request: Request, ctx: CtxDep, uow: UowDep, background: BackgroundTasks
) -> dict[str, bool]:
    """Always `{"sent": true}` for a well-formed number: whether it is on record is not told."""
    services.request_otp(
        uow,
        phone=body.phone,
        address=client_address(request),
        secret=ctx.settings.pseudonym_secret,
        now=ctx.clock.now(),
        ttl=timedelta(seconds=ctx.settings.otp_ttl_seconds),
    )
    dispatch_sms_after_response(background, ctx)
    return {"sent": True}


@router.post("/parent/login", responses=errors(401, 429))
def parent_login(body: ParentLogin, request: Request, ctx: CtxDep, uow: UowDep) -> TokenOut:
    attempt = partial(
        services.login_parent,
        phone=body.phone,
        code=body.code,
        address=client_address(request),
        secret=ctx.settings.pseudonym_secret,
    )
    return _login(ctx, uow, attempt)


@router.post("/parent/egov", responses=errors(401, 403, 503))
def parent_egov_login(body: EgovLogin, ctx: CtxDep, uow: UowDep) -> TokenOut:
    """eGov sign-in behind `AppContext.egov`; 503 EGOV_UNAVAILABLE until an adapter is configured."""
    return _login(ctx, uow, partial(services.login_parent_egov, egov=ctx.egov, assertion=body.assertion))


def _login(ctx: CtxDep, uow: UowDep, attempt: Callable[..., str]) -> TokenOut:
    """Run one sign-in attempt, called as `attempt(uow, now=, ttl=)`."""
    token = attempt(uow, now=ctx.clock.now(), ttl=timedelta(seconds=ctx.settings.session_ttl_seconds))
    return TokenOut(token=token)


@router.post("/logout", status_code=204, responses=errors(401))
def logout(request: Request, uow: UowDep) -> None:
    """Ends the caller's session (admin or parent)."""
    services.logout(uow, bearer_token(request))
