"""CSRF on the pages: a form is accepted only with a token bound to this browser, and a session that ran
out does not lock the parent out of signing in again."""

from __future__ import annotations

from backend.web import security

from .conftest import BEKOVA, Web, csrf_of


def test_a_stale_session_cookie_does_not_refuse_the_sign_in_form(web: Web) -> None:
    c = web.client()
    c.cookies.set(security.SESSION_COOKIE, "expired-or-unknown-session-token")
    page = c.get("/")  # rendered for no one: its form is bound to the browser cookie
    assert page.status_code == 200
    asked = c.post("/sign-in", data={"csrf": csrf_of(page.text), "phone": BEKOVA})
    assert asked.status_code == 303, asked.text[:300]


def test_a_token_of_another_browser_is_refused(web: Web) -> None:
    mine, theirs = web.client(), web.client()
    token = csrf_of(theirs.get("/").text)
    mine.get("/")
    refused = mine.post("/sign-in", data={"csrf": token, "phone": BEKOVA})
    assert refused.status_code == 403
    assert mine.post("/sign-in", data={"phone": BEKOVA}).status_code == 403
