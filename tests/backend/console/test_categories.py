"""Eligibility categories are data: the operator lists, adds and retires them with `python -m backend
categories` (no staff role is national); any staff role reads them (API and console page, with the plan
each gives); the pedagogue's list pages offer the categories in use, not a fixed set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.__main__ import main
from backend.auth.model import Role
from backend.auth.services import admin_principal
from backend.auth.tables import Admin
from backend.auth.testing import make_admin
from backend.eligibility import services as eligibility
from backend.eligibility.categories import put_category, retire_category
from backend.eligibility.tables import EligibilityEntry
from backend.unit_of_work import UnitOfWork

from .conftest import Web, csrf_of

EMERGENCY = "emergency_affected"


def test_the_command_line_lists_adds_and_retires_categories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SM_KEY_DIR", str(tmp_path / "keys"))
    assert main(["categories", "list"]) == 2 and "migrate" in capsys.readouterr().err
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["categories", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split("\t")[:4] for ln in lines] == [
        ["below_subsistence_minimum", "free", "register", "active"],
        ["orphan_or_no_parental_care", "free", "register", "active"],
        ["targeted_social_assistance", "free", "register", "active"],
    ]
    flood = ["categories", "add", EMERGENCY, "--kk", "Төтенше жағдайдан зардап шеккен отбасылар"]
    assert (
        main([*flood, "--ru", "Семьи, пострадавшие от ЧС", "--plan", "discounted", "--not-in-register"]) == 0
    )
    assert main(["categories", "add", "X", "--kk", "a", "--ru", "b", "--plan", "free"]) == 2
    assert "CATEGORY_CODE_INVALID" in capsys.readouterr().err
    assert main(["categories", "retire", "orphan_or_no_parental_care"]) == 0
    assert main(["categories", "retire", "no_such"]) == 2
    capsys.readouterr()
    assert main(["categories", "list"]) == 0
    rows = {ln.split("\t")[0]: ln.split("\t")[1:] for ln in capsys.readouterr().out.splitlines()}
    assert rows[EMERGENCY] == [
        "discounted",
        "list-only",
        "active",
        "Төтенше жағдайдан зардап шеккен отбасылар / Семьи, пострадавшие от ЧС",
    ]
    assert rows["orphan_or_no_parental_care"][2] == "retired"


def test_every_staff_role_reads_the_categories_with_their_plan(
    web: Web, staff: Callable[..., TestClient]
) -> None:
    with UnitOfWork(web.ctx.session_factory) as uow:
        put_category(
            uow, EMERGENCY, name_kk="Төтенше жағдай", name_ru="ЧС", plan=2, in_register=False, active=True
        )
    for login in (
        "district.admin",
        "school.head",
        "social.pedagogue",
        "technician",
        "supplier",
        "canteen.staff",
    ):
        page = staff(login, "ru").get("/staff/categories")
        assert page.status_code == 200, login
        row = page.text.split("<code>emergency_affected</code>")
        assert "ЧС" in row[0].rsplit("<tr>", 1)[1] and "Льготное" in row[1].split("</tr>")[0], login
    en = staff("technician").get("/staff/categories").text
    assert "Targeted social assistance" in en and "Free" in en and "The approved list" in en
    with UnitOfWork(web.ctx.session_factory) as uow:  # the API's list, for any staff role too
        _, token = make_admin(
            uow.session, Role.CANTEEN_STAFF, (web.district.school_id,), None, now=web.clock.now()
        )
        uow.commit()
    r = web.client().get("/api/admin/v1/eligibility-categories", headers={"Authorization": f"Bearer {token}"})
    found = {c["code"]: c for c in r.json()["categories"]}
    assert r.status_code == 200 and (found[EMERGENCY]["plan"], found[EMERGENCY]["in_register"]) == (2, False)


def test_the_pedagogue_lists_pupils_under_the_data_categories(
    web: Web, staff: Callable[..., TestClient]
) -> None:
    school = web.district.school_id
    with UnitOfWork(web.ctx.session_factory) as uow:
        put_category(
            uow, EMERGENCY, name_kk="Төтенше жағдай", name_ru="ЧС", plan=2, in_register=False, active=True
        )
        login = uow.session.scalars(select(Admin).where(Admin.login == "social.pedagogue")).one()
        pedagogue = admin_principal(uow.session, login)
    with UnitOfWork(web.ctx.session_factory) as uow:
        lst = eligibility.create_list(uow, pedagogue, school, date(2027, 1, 1)).id
    client = staff("social.pedagogue", "kk")
    page = client.get(f"/staff/lists/{lst}")
    assert (
        page.status_code == 200 and '<option value="emergency_affected">Төтенше жағдай</option>' in page.text
    )
    csrf = csrf_of(page.text)
    r = client.post(
        f"/staff/lists/{lst}/classes", data={"csrf": csrf, "class_name": "6А", "category": EMERGENCY}
    )
    assert r.status_code == 303
    with web.ctx.session_factory() as session:
        cats = session.scalars(select(EligibilityEntry.category).where(EligibilityEntry.list_id == lst)).all()
    assert cats and set(cats) == {EMERGENCY}
    assert "Төтенше жағдай" in client.get(f"/staff/lists/{lst}").text
    with UnitOfWork(web.ctx.session_factory) as uow:
        retire_category(uow, EMERGENCY)
    page = client.get(f"/staff/lists/{lst}")
    assert 'value="emergency_affected"' not in page.text and "Төтенше жағдай" in page.text  # entries keep it
    r = client.post(
        f"/staff/lists/{lst}/classes", data={"csrf": csrf, "class_name": "6Б", "category": EMERGENCY}
    )
    assert r.status_code == 400 and "Қолданыстағы санаттардың бірін таңдаңыз." in r.text
