"""The complaints page: the district forwards a received complaint to e-Otinish (queued for the outbound
adapter; forwarded once receipted), answers it (the parent reads the answer) and closes it; the page shows
each status, filters by status on the server and pages; the head answers and closes but does not
forward; a head of another district's school sees and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.adapters.outbound import FileDropSink
from backend.auth.model import Principal
from backend.feedback.eotinish import EOTINISH
from backend.feedback.services import file_complaint
from backend.feedback.tables import ComplaintRow
from backend.roster.tables import Guardianship, Parent
from backend.unit_of_work import UnitOfWork
from backend.year_jobs import push

from ..web.conftest import MOTHER
from .conftest import Web, csrf_of

CARD = re.compile(r'<div class="card[^"]*" id="complaint-(\d+)"')


def _file(web: Web, n: int) -> list[int]:
    with web.ctx.session_factory() as session:
        parent_id = session.scalars(select(Parent.id).where(Parent.phone == MOTHER)).one()
        pupil = session.scalars(
            select(Guardianship.pupil_id).where(Guardianship.parent_id == parent_id)
        ).first()
    assert pupil is not None
    mother = Principal("parent", parent_id, pupil_ids=frozenset({pupil}))
    ids = []
    for k in range(n):
        web.clock.advance(timedelta(minutes=1))
        with UnitOfWork(web.ctx.session_factory) as uow:
            ids.append(
                file_complaint(uow, mother, pupil, f"complaint {k}", event_id=None, now=web.clock.now()).id
            )
    return ids


def _act(client: TestClient, complaint: int, step: str, **fields: str) -> httpx.Response:
    page = client.get("/staff/complaints?status=all")
    response: httpx.Response = client.post(
        f"/staff/complaints/{complaint}/{step}",
        data={"csrf": csrf_of(page.text), "status_filter": "all", "page": "1", **fields},
    )
    return response


def test_the_district_forwards_answers_and_closes_a_complaint(
    web: Web, staff: Callable[..., TestClient], tmp_path: Path
) -> None:
    ids = _file(web, 52)
    admin = staff("district.admin")
    first = admin.get("/staff/complaints")  # the open ones by default, newest first, 50 a page
    assert first.status_code == 200 and "52 complaints" in first.text
    assert [int(i) for i in CARD.findall(first.text)] == ids[::-1][:50]
    second = admin.get("/staff/complaints?status=open&page=2")
    assert [int(i) for i in CARD.findall(second.text)] == ids[1::-1]

    target = ids[0]
    r = _act(admin, target, "forward")
    assert r.status_code == 303 and "done=forwarded" in r.headers["location"]
    again = _act(admin, target, "forward")  # a second click
    assert again.status_code == 400 and "sent to e-Otinish already" in again.text
    with web.ctx.session_factory() as session:
        row = session.get(ComplaintRow, target)
        assert row is not None and row.status == "received"  # queued, not receipted yet
    page = admin.get("/staff/complaints?status=received&page=2").text
    assert "Queued for e-Otinish (tries so far: 0)." in page
    drop = tmp_path / "to-eotinish"
    assert push(web.ctx.session_factory, {EOTINISH: FileDropSink(drop)}, web.clock.now())["delivered"] == 1
    [appeal] = list(drop.iterdir())
    assert "complaint 0" in appeal.read_text(encoding="utf-8")
    forwarded = admin.get("/staff/complaints?status=forwarded").text
    assert [int(i) for i in CARD.findall(forwarded)] == [target] and "e-Otinish reference:" in forwarded

    empty = _act(admin, target, "resolve", resolution="  ")
    assert empty.status_code == 400 and "Say what went wrong." in empty.text
    assert _act(admin, target, "resolve", resolution="A new cook from Monday").status_code == 303
    parent = web.client("en")
    web.sign_in(parent, MOTHER)
    mine = parent.get("/complaints").text
    assert "A new cook from Monday" in mine and "Answered" in mine
    assert _act(admin, target, "close").status_code == 303
    closed = admin.get("/staff/complaints?status=closed").text
    assert [int(i) for i in CARD.findall(closed)] == [target] and "Send the answer" not in closed
    assert "52 complaints" in admin.get("/staff/complaints?status=all").text
    assert "51 complaints" in admin.get("/staff/complaints").text
    assert "Closed" in parent.get("/complaints").text


def test_the_head_answers_but_does_not_forward_and_a_foreign_head_sees_nothing(
    web: Web, staff: Callable[..., TestClient], foreign_head: str
) -> None:
    [complaint] = _file(web, 1)
    head = staff("school.head", "ru")
    page = head.get("/staff/complaints").text
    assert "complaint 0" in page and f"/staff/complaints/{complaint}/forward" not in page
    assert "Ответ родителю" in page and "Передать в e-Otinish" not in page
    assert _act(head, complaint, "forward").status_code == 403
    other = staff(foreign_head)
    assert "complaint 0" not in other.get("/staff/complaints?status=all").text
    for step, fields in (("resolve", {"resolution": "not mine"}), ("close", {})):
        assert _act(other, complaint, step, **fields).status_code == 404
    assert _act(head, complaint, "resolve", resolution="Повар заменён").status_code == 303
    with web.ctx.session_factory() as session:
        row = session.get(ComplaintRow, complaint)
        assert row is not None and (row.status, row.resolution) == ("answered", "Повар заменён")
