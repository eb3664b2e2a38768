"""Cookies and CSRF for the pages.

Sessions are the back end's own auth sessions (only the token's hash is stored); the browser keeps the
token in an HttpOnly, SameSite cookie, Secure unless configured off for a plain-http loopback server.
Every form carries a CSRF token: an HMAC of the session token (or, before sign-in, of a random
per-browser cookie), so a token is only good in the browser it was given to. A request whose Origin
names another site is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from backend.web_settings import WebSettings

SESSION_COOKIE = "sm_session"
BROWSER_COOKIE = "sm_browser"  # binds CSRF tokens before sign-in
LANGUAGE_COOKIE = "sm_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """A state-changing request without a valid token for this browser, or from another origin."""


def set_cookie(
    response: Response,
    settings: WebSettings,
    name: str,
    value: str,
    *,
    max_age: int | None,
    path: str = "/",
    samesite: str = "lax",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=settings.cookie_secure,
        httponly=True,
        samesite=samesite,  # type: ignore[arg-type]
    )


def new_browser_id() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(settings: WebSettings, bound_to: str) -> str:
    return hmac.new(settings.secret, b"csrf:" + bound_to.encode(), hashlib.sha256).hexdigest()


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None:  # old browsers and same-origin navigations may send none; the token decides
        return
    host = request.headers.get("host", "")
    if origin == "null" or urlsplit(origin).netloc != host:
        raise CsrfRefused("cross-origin request")


def check_csrf(request: Request, settings: WebSettings, token: str | None) -> None:
    """The token must be bound to this browser's session or to its browser cookie: a page rendered for
    an expired session binds its forms to the browser cookie, and the stale session cookie it still
    sends must not refuse them (the sign-in form after a session ran out)."""
    check_origin(request)
    bound = [c for c in (request.cookies.get(SESSION_COOKIE), request.cookies.get(BROWSER_COOKIE)) if c]
    if not token or not any(hmac.compare_digest(csrf_token(settings, b), token) for b in bound):
        raise CsrfRefused("missing or wrong CSRF token")


def safe_next(path: str | None, default: str = "/") -> str:
    """A same-site path to go back to: never another host, never a scheme-relative URL."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path
