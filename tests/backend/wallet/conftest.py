"""Wallet-suite helpers on top of tests/backend/conftest.py.

- `staff(school_id, district="Almaly")` → Staff with `pedagogue`, `head`, `district` header dicts.
- `registered_child(school_id, phone="auto", grade=6, role="mother", valid_to=...)` → pupil id: a pupil
  linked to a new parent with that phone and put in the register, the usual consent set-up.
- `checked_list(school_id, [(pupil_id, category or None)], month="2026-09")` → (list_id, check answer):
  forms, approves and cross-checks a list through the API.
- `run_timers()` runs due scheduler jobs and dispatches the SMS outbox at the clock's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.context import AppContext
from backend.eligibility.model import Category
from backend.worker import tick

CAT = Category.TARGETED_ASSISTANCE


@dataclass
class Staff:
    pedagogue: dict[str, str]
    head: dict[str, str]
    district: dict[str, str]


@pytest.fixture
def staff(admin_token: Callable[..., tuple[int, dict[str, str]]]) -> Callable[..., Staff]:
    def factory(school_id: int, district: str = "Almaly") -> Staff:
        return Staff(
            pedagogue=admin_token(Role.SOCIAL_PEDAGOGUE, (school_id,))[1],
            head=admin_token(Role.SCHOOL_HEAD, (school_id,))[1],
            district=admin_token(Role.DISTRICT_ADMIN, (), district)[1],
        )

    return factory


@pytest.fixture
def registered_child(
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    registered: Callable[..., None],
) -> Callable[..., int]:
    def make(
        school_id: int,
        phone: str | None = "auto",
        *,
        grade: int = 6,
        role: str = "mother",
        valid_to: date = date(2027, 5, 31),
    ) -> int:
        pupil = make_pupil(school_id, grade=grade)
        link(pupil, make_parent(phone=phone), role)
        registered(pupil, valid_to=valid_to)
        return pupil

    return make


@pytest.fixture
def checked_list(
    client: TestClient, staff: Callable[..., Staff]
) -> Callable[..., tuple[int, dict[str, Any]]]:
    def run(
        school_id: int, entries: list[tuple[int, Category | None]], month: str = "2026-09"
    ) -> tuple[int, dict[str, Any]]:
        s = staff(school_id)
        r = client.post(
            f"/api/admin/v1/schools/{school_id}/eligibility-lists", json={"month": month}, headers=s.pedagogue
        )
        assert r.status_code == 201, r.text
        list_id = r.json()["id"]
        for pupil_id, cat in entries:
            body = {"pupil_id": pupil_id, "category": cat.value if cat else None}
            r = client.post(
                f"/api/admin/v1/eligibility-lists/{list_id}/entries", json=body, headers=s.pedagogue
            )
            assert r.status_code == 201, r.text
        assert (
            client.post(f"/api/admin/v1/eligibility-lists/{list_id}/approve", headers=s.head).status_code
            == 200
        )
        r = client.post(f"/api/admin/v1/eligibility-lists/{list_id}/check", headers=s.head)
        assert r.status_code == 200, r.text
        return list_id, r.json()

    return run


@pytest.fixture
def run_timers(ctx: AppContext) -> Callable[[], dict[str, int]]:
    return lambda: tick(ctx)
