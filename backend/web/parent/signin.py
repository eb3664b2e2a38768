"""Sign-in with a one-time SMS code (and eGov when its adapter is configured), sign-out, language."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Response

from backend.adapters.egov import EgovNotConfigured
from backend.auth import services as auth
from backend.auth.dependencies import client_address
from backend.auth.model import AuthReason
from backend.deps import dispatch_sms_after_response
from backend.errors import CommonReason, DomainError
from backend.sms.phones import normalize_phone

from .. import i18n, security
from ..forms import FormDep, PageDep
from ..pages import WebRoute, redirect, render
from ..texts import reason_text

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PHONE_COOKIE = "sm_phone"


def _egov(pc: PageDep) -> bool:
    return not isinstance(pc.ctx.egov, EgovNotConfigured)


@router.get("/")
def start(pc: PageDep) -> Response:
    if pc.principal is not None and pc.principal.kind == "parent":
        return redirect(pc, "/children")
    return render(pc, "parent/sign_in.html", phone="", errors={}, egov=_egov(pc))


@router.post("/sign-in")
def ask_code(pc: PageDep, form: FormDep, background: BackgroundTasks) -> Response:
    phone = form.get("phone", "").strip()
    canon = normalize_phone(phone)
    if canon is None:
        errors = {"phone": pc.gettext(reason_text(AuthReason.PHONE_INVALID))}
        return render(pc, "parent/sign_in.html", status=400, phone=phone, errors=errors, egov=_egov(pc))
    ctx = pc.ctx
    auth.request_otp(
        pc.uow,
        phone=canon,
        address=client_address(pc.request),
        secret=ctx.settings.pseudonym_secret,
        now=ctx.clock.now(),
        ttl=timedelta(seconds=ctx.settings.otp_ttl_seconds),
    )
    dispatch_sms_after_response(background, ctx)
    # The number waits in a short-lived cookie, not in the address (which ends up in logs).
    pc.extra_cookies.append((PHONE_COOKIE, canon, ctx.settings.otp_ttl_seconds, "/sign-in"))
    return redirect(pc, "/sign-in/code")


@router.get("/sign-in/code")
def code_page(pc: PageDep) -> Response:
    phone = pc.request.cookies.get(PHONE_COOKIE)
    if not phone:
        return redirect(pc, "/")
    return render(pc, "parent/code.html", phone=phone, errors={}, minutes=_minutes(pc))


@router.post("/sign-in/code")
def check_code(pc: PageDep, form: FormDep) -> Response:
    phone, code = pc.request.cookies.get(PHONE_COOKIE, ""), form.get("code", "").strip()
    ctx = pc.ctx
    try:
        token = auth.login_parent(
            pc.uow,
            phone=phone,
            code=code,
            address=client_address(pc.request),
            secret=ctx.settings.pseudonym_secret,
            now=ctx.clock.now(),
            ttl=timedelta(seconds=ctx.settings.session_ttl_seconds),
        )
    except DomainError as exc:
        if exc.reason != AuthReason.OTP_INVALID:
            raise
        errors = {"code": pc.gettext(reason_text(exc.reason))}
        return render(pc, "parent/code.html", status=400, phone=phone, errors=errors, minutes=_minutes(pc))
    return _signed_in(pc, token)


@router.post("/sign-in/egov")
def egov(pc: PageDep, form: FormDep) -> Response:
    ctx = pc.ctx
    token = auth.login_parent_egov(
        pc.uow,
        ctx.egov,
        assertion=form.get("assertion", ""),
        now=ctx.clock.now(),
        ttl=timedelta(seconds=ctx.settings.session_ttl_seconds),
    )
    return _signed_in(pc, token)


def _minutes(pc: PageDep) -> int:
    return max(1, pc.ctx.settings.otp_ttl_seconds // 60)


def _signed_in(pc: PageDep, token: str) -> Response:
    response = redirect(pc, "/children")
    security.set_cookie(
        response,
        pc.ctx.settings.web,
        security.SESSION_COOKIE,
        token,
        max_age=pc.ctx.settings.session_ttl_seconds,
    )
    return response


@router.post("/sign-out")
def sign_out(pc: PageDep, form: FormDep) -> Response:
    token = pc.request.cookies.get(security.SESSION_COOKIE)
    if token:
        auth.logout(pc.uow, token)
    response = redirect(pc, "/")
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def language(pc: PageDep, form: FormDep) -> Response:
    """The switcher on every page: the choice is kept in a cookie and beats record and browser."""
    lang = form.get("lang", "")
    if lang not in i18n.LANGUAGES:
        raise DomainError(CommonReason.CHOOSE_ONE, "unknown language")
    pc.extra_cookies.append((security.LANGUAGE_COOKIE, lang, 400 * 86400, "/"))
    return redirect(pc, security.safe_next(form.get("next")))
