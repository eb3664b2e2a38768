"""Each role sees what its job needs (issue 10): the role × field table of docs/security.md, checked
against the answers that carry pupils' and parents' personal data."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.auth.model import Role
from backend.context import AppContext
from backend.eligibility.model import Category
from backend.roster.tables import Pupil
from backend.vouchers.tables import Voucher

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"
PHONE = "+77012223344"


def documented() -> dict[str, dict[str, bool]]:
    """role → {column: yes/no} from the table under "Who sees which field"."""
    section = DOC.read_text(encoding="utf-8").split("## Who sees which field", 1)[1].split("\n## ", 1)[0]
    rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("|")
    ]
    header, body = rows[0], rows[2:]
    return {r[0]: {h: v == "yes" for h, v in zip(header[1:], r[1:], strict=True)} for r in body}


def test_the_table_covers_every_admin_role() -> None:
    assert set(documented()) == {r.value for r in Role}


def test_each_role_sees_what_the_table_says(
    client: TestClient,
    ctx: AppContext,
    make_school: Callable[..., int],
    registered_child: Callable[..., int],
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    school = make_school()
    pupil = registered_child(school, PHONE, grade=8)
    list_id, _ = checked_list(school, [(pupil, Category.TARGETED_ASSISTANCE)])
    assert client.post("/api/sms/v1/inbound", json={"from": PHONE, "text": "3#1"}).status_code == 200
    with ctx.session_factory() as s:
        p = s.get(Pupil, pupil)
        assert p is not None
        full_name, display = p.full_name, p.display
        voucher = s.scalars(select(Voucher.id).where(Voucher.pupil_id == pupil)).one()

    for role, expected in documented().items():
        district = "Almaly" if role == Role.DISTRICT_ADMIN else None
        _, headers = admin_token(Role(role), (school,), district)
        answers = [
            client.get(f"/api/admin/v1/schools/{school}/pupils", headers=headers),
            client.get(f"/api/admin/v1/eligibility-lists/{list_id}", headers=headers),
            client.get(f"/api/admin/v1/vouchers/{voucher}/events", headers=headers),
        ]
        assert [a.status_code for a in answers] == [200, 200, 200], (role, [a.text for a in answers])
        text = "".join(a.text for a in answers)
        seen = {
            "full name": full_name in text,
            "social category": Category.TARGETED_ASSISTANCE.value in text,
            "parent phone": re.search(re.escape(PHONE), text) is not None,
            "initials and class": display in text,
        }
        assert seen == expected, role
