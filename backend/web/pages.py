"""What every page shares: its context (language, signed-in parent, CSRF token), rendering with the
security headers, and a route class that turns domain errors into pages instead of JSON."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.auth.model import Principal
from backend.auth.services import parent_language, principal_for_token
from backend.clock import KZ_TZ
from backend.context import AppContext
from backend.deps import CtxDep, UowDep, get_ctx
from backend.errors import DomainError
from backend.http_errors import status_of
from backend.unit_of_work import UnitOfWork

from . import i18n, security, texts
from .assets import asset_url

TEMPLATES = Path(__file__).with_name("templates")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
GZIP_FROM = 1024  # smaller bodies gain nothing from compression


class SignInRequired(Exception):
    """The page needs a signed-in parent; the visitor goes to the sign-in page."""


@dataclass
class PageContext:
    request: Request
    ctx: AppContext
    unit: UnitOfWork | None  # the request's unit of work (None on an error page built without one)
    lang: str
    principal: Principal | None
    csrf: str
    new_browser_id: str | None = None  # set as a cookie with the response when the browser had none
    extra_cookies: list[tuple[str, str, int | None, str]] = field(default_factory=list)

    @property
    def parent(self) -> Principal:
        if self.principal is None or self.principal.kind != "parent":
            raise SignInRequired
        return self.principal

    @property
    def uow(self) -> UnitOfWork:
        """The request's unit of work (`backend.deps.UowDep`), handed to the services the page calls."""
        assert self.unit is not None, "an error page calls no service"
        return self.unit

    def gettext(self, message: str, **values: Any) -> str:
        text = i18n.translations(self.lang).gettext(message)
        return text % values if values else text


def page_context(request: Request, ctx: CtxDep, uow: UowDep) -> PageContext:
    """Built once per request (FastAPI caches dependencies): who is calling, in which language. Kept on
    the request too, so a page for an error raised later is in the same language for the same parent."""
    principal = None
    record_language = None
    token = request.cookies.get(security.SESSION_COOKIE)
    if token:
        principal = principal_for_token(uow.session, token, ctx.clock.now())
        if principal is not None and principal.kind == "parent":
            record_language = parent_language(uow.session, principal.parent_id)
        uow.rollback()  # the lookup's read transaction ends before the page's own work
    pc = _page_context(request, ctx, uow, principal, record_language, token)
    request.state.page_context = pc
    return pc


def _page_context(
    request: Request,
    ctx: AppContext,
    uow: UnitOfWork | None,
    principal: Principal | None,
    record_language: str | None,
    token: str | None,
) -> PageContext:
    settings = ctx.settings.web
    lang = i18n.choose(
        chosen=request.cookies.get(security.LANGUAGE_COOKIE),
        record=record_language,
        accept_language=request.headers.get("accept-language"),
    )
    browser = None
    bound = token if principal is not None else request.cookies.get(security.BROWSER_COOKIE)
    if not bound:
        bound = browser = security.new_browser_id()
    return PageContext(request, ctx, uow, lang, principal, security.csrf_token(settings, bound), browser)


def error_context(request: Request) -> PageContext:
    """The page context for an error page: the request's own if it was built, else an anonymous one
    (an error raised before the page context existed, e.g. by another dependency)."""
    pc = getattr(request.state, "page_context", None)
    if isinstance(pc, PageContext):
        return pc
    return _page_context(request, get_ctx(request), None, None, None, None)


def local_time(moment: datetime | None) -> str:
    """An instant as the school's wall clock shows it (staff pages)."""
    return moment.astimezone(KZ_TZ).strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "js"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local_time"] = local_time
    env.globals.update(
        asset=asset_url,
        languages=i18n.LANGUAGES,
        endonyms=i18n.ENDONYMS,
        texts=texts,
    )
    return env


def finish(pc: PageContext, response: Response, *, private: bool = True) -> Response:
    settings = pc.ctx.settings.web
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if private:
        response.headers["Cache-Control"] = "no-store"
    if pc.new_browser_id:
        security.set_cookie(
            response, settings, security.BROWSER_COOKIE, pc.new_browser_id, max_age=None, samesite="strict"
        )
    for name, value, max_age, path in pc.extra_cookies:
        security.set_cookie(response, settings, name, value, max_age=max_age, path=path)
    return response


def render(pc: PageContext, template: str, *, status: int = 200, **values: Any) -> Response:
    html = (
        environment(pc.lang)
        .get_template(template)
        .render(
            pc=pc,
            lang=pc.lang,
            csrf=pc.csrf,
            path=pc.request.url.path,
            signed_in=pc.principal is not None,
            **values,
        )
    )
    body = html.encode()
    response = HTMLResponse(body, status_code=status)
    if len(body) >= GZIP_FROM and "gzip" in pc.request.headers.get("accept-encoding", ""):
        response = HTMLResponse(gzip.compress(body, 6, mtime=0), status_code=status)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    return finish(pc, response)


def redirect(pc: PageContext, url: str) -> Response:
    """After a form: 303 See Other, so a reload does not post again."""
    return finish(pc, RedirectResponse(url, status_code=303))


def error_page(pc: PageContext, reason: str, status: int) -> Response:
    message = texts.reason_text(reason)
    return render(pc, "error.html", status=status, reason=reason, message=message)


class WebRoute(APIRoute):
    """Routes of the pages: a domain error is a page in the reader's language with its reason code,
    a missing session is the sign-in page, a refused CSRF check is a 403 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return RedirectResponse("/", status_code=303)
            except security.CsrfRefused:
                return error_page(error_context(request), texts.PageCode.CSRF_FAILED, 403)
            except DomainError as exc:
                return error_page(error_context(request), exc.reason, status_of(exc))

        return route
