"""Fixtures of the console's page tests: the parent pages' app with the demo district (every staff role
seeded), staff sign-in through the pages, and a head of a school in another district."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.auth.services import create_admin
from backend.roster.tables import School
from demo import data as D
from demo.staff import seed_staff
from tests.backend.web.conftest import Web, csrf_of, web

__all__ = ["Web", "csrf_of", "web"]


@pytest.fixture
def staff(web: Web) -> Callable[..., TestClient]:
    """A browser-like client signed in to the console as `login` (the demo's accounts)."""
    seed_staff(web.ctx.session_factory, web.district.school_id)

    def sign_in(login: str, lang: str = "en") -> TestClient:
        client = web.client(lang)
        csrf = csrf_of(client.get("/staff").text)
        done = client.post("/staff/sign-in", data={"csrf": csrf, "login": login, "password": D.PASSWORD})
        assert done.status_code == 303, done.text[:300]
        return client

    return sign_in


@pytest.fixture
def foreign_head(web: Web) -> str:
    """The login of a head of a school in another district."""
    with web.ctx.session_factory() as session:
        other = School(bin="990000000077", name="Foreign School", region="Almaty", district="Medeu")
        session.add(other)
        session.flush()
        create_admin(
            session, login="foreign.head", password=D.PASSWORD, role=Role.SCHOOL_HEAD, school_ids=(other.id,)
        )
        session.commit()
    return "foreign.head"
