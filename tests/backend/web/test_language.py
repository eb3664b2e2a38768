"""The page language: the visitor's own choice on the switcher, then the parent's record, then the
browser's Accept-Language, then Kazakh."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from backend.roster.tables import Parent
from backend.web import i18n

from .conftest import BEKOVA, Web, csrf_of


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("en-GB, ru;q=0.5", "en"),
        ("ru;q=0.5, en;q=0.9", "en"),
        ("de-DE,fr;q=0.9", None),
        ("kk;q=0, ru;q=0.1", "ru"),
        ("kk-KZ;q=x, en;q=0.5", "en"),  # a malformed q-value counts as refused
        ("", None),
        (None, None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_choice_then_record_then_browser_then_kazakh() -> None:
    assert i18n.choose(chosen="en", record="ru", accept_language="kk") == "en"
    assert i18n.choose(chosen=None, record="ru", accept_language="en") == "ru"
    assert i18n.choose(chosen="xx", record="kk+ru", accept_language="en") == "en"  # both SMS languages
    assert i18n.choose(chosen=None, record=None, accept_language="de") == "kk"


def _lang(html: str) -> str:
    found = re.search(r'<html lang="(\w+)">', html)
    assert found
    return found.group(1)


def test_record_beats_browser_and_the_switch_beats_both(web: Web) -> None:
    with web.ctx.session_factory() as session:
        session.execute(update(Parent).where(Parent.phone == BEKOVA).values(language="ru"))
        session.commit()
    c = web.client("en")
    assert _lang(c.get("/").text) == "en"  # before sign-in only the browser speaks
    web.sign_in(c, BEKOVA)
    page = c.get("/children")
    assert _lang(page.text) == "ru"  # the parent's record
    switched = c.post("/language", data={"csrf": csrf_of(page.text), "lang": "kk", "next": "/children"})
    assert switched.status_code == 303 and switched.headers["location"] == "/children"
    assert _lang(c.get("/children").text) == "kk"
    assert _lang(c.get("/notifications").text) == "kk"  # it sticks on every page


def test_switch_refuses_an_unknown_language_and_a_foreign_next(web: Web) -> None:
    c = web.client("en")
    csrf = csrf_of(c.get("/").text)
    bad = c.post("/language", data={"csrf": csrf, "lang": "de", "next": "/"})
    assert bad.status_code == 400 and "CHOOSE_ONE" in bad.text
    away = c.post("/language", data={"csrf": csrf, "lang": "ru", "next": "//evil.example/"})
    assert away.status_code == 303 and away.headers["location"] == "/"


def test_switch_without_csrf_is_refused(web: Web) -> None:
    c = web.client("en")
    c.get("/")
    refused = c.post("/language", data={"lang": "ru", "next": "/"})
    assert refused.status_code == 403
    assert _lang(c.get("/").text) == "en"
