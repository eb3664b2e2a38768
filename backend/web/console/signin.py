"""Staff sign-in (login, password, and the authenticator's code when the account has one), sign-out,
and a district admin's own second factor."""

from __future__ import annotations

from datetime import timedelta

import segno
from fastapi import APIRouter, Response

from backend.auth import AuthReason, Role
from backend.auth import accounts as acc
from backend.auth import services as auth
from backend.auth.dependencies import client_address
from backend.auth.passwords import totp_uri
from backend.deps import UowDep
from backend.errors import DomainError
from backend.unit_of_work import UnitOfWork

from .. import security
from ..forms import FormDep, PageDep
from ..pages import redirect, render
from ..texts import reason_text
from .common import ConsoleRoute, home_of, show, staff

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FORM_ERRORS = frozenset({AuthReason.BAD_CREDENTIALS, AuthReason.TOTP_REQUIRED, AuthReason.LOGIN_THROTTLED})


@router.get("/staff")
def start(pc: PageDep) -> Response:
    if pc.principal is not None and pc.principal.kind == "admin":
        return redirect(pc, home_of(pc.principal.role))
    return render(pc, "console/sign_in.html", login="", errors={}, me=None)


@router.post("/staff/sign-in")
def sign_in(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    login, password = form.get("login", "").strip(), form.get("password", "")
    totp = form.get("totp", "").strip() or None
    ctx = pc.ctx
    try:
        token = auth.login_admin(
            uow,
            login=login,
            password=password,
            totp=totp,
            address=client_address(pc.request),
            now=ctx.clock.now(),
            ttl=timedelta(seconds=ctx.settings.session_ttl_seconds),
        )
    except DomainError as exc:
        if exc.reason not in FORM_ERRORS:
            raise
        field = "totp" if exc.reason is AuthReason.TOTP_REQUIRED else "password"
        errors = {field: pc.gettext(reason_text(exc.reason))}
        return render(
            pc,
            "console/sign_in.html",
            status=400,
            login=login,
            errors=errors,
            me=None,
            ask_totp=field == "totp",
        )
    response = redirect(pc, "/staff")
    security.set_cookie(
        response, ctx.settings.web, security.SESSION_COOKIE, token, max_age=ctx.settings.session_ttl_seconds
    )
    return response


@router.post("/staff/sign-out")
def sign_out(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    token = pc.request.cookies.get(security.SESSION_COOKIE)
    if token:
        auth.logout(uow, token)
    response = redirect(pc, "/staff")
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


def _login(uow: UnitOfWork, admin_id: int) -> str:
    return acc.login_of(uow.session, admin_id)


def _qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=4, title="QR")


@router.get("/staff/security")
def security_page(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    enabled, login = acc.has_totp(uow.session, me), _login(uow, me.id)
    secret = "" if enabled else acc.start_totp()
    qr = "" if enabled else _qr_svg(totp_uri(secret, login))
    return show(pc, me, "console/security.html", enabled=enabled, secret=secret, qr=qr, errors={})


@router.post("/staff/security")
def security_change(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    code, now = form.get("code", ""), pc.ctx.clock.now()
    try:
        if form.get("action") == "remove":
            acc.remove_totp(uow, me, code, now)
        else:
            acc.confirm_totp(uow, me, form.get("secret", ""), code, now)
    except DomainError as exc:
        if exc.reason is not AuthReason.TOTP_INVALID:
            raise
        uow.rollback()
        secret = form.get("secret", "")
        enabled, login = acc.has_totp(uow.session, me), _login(uow, me.id)
        qr = "" if enabled else _qr_svg(totp_uri(secret, login))
        errors = {"code": pc.gettext(reason_text(exc.reason))}
        return show(
            pc, me, "console/security.html", status=400, enabled=enabled, secret=secret, qr=qr, errors=errors
        )
    return redirect(pc, "/staff/security?done=1")
