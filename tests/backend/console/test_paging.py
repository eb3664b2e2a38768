"""The district's long pages read one page from the database: the acts by school, the complaints and the
SMS outbox (counted up to its cap); the contractors of many schools found at once agree with each
school's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.admin import outbox as box
from backend.auth.model import Role
from backend.auth.services import open_session
from backend.clock import FixedClock
from backend.consent.tables import ConsentRequest
from backend.eligibility.tables import EligibilityList
from backend.feedback.tables import ComplaintRow
from backend.roster.suppliers import supplier_for_month, suppliers_for_month
from backend.roster.tables import School, Supplier, SupplierLink
from backend.sms.tables import SmsMessage
from backend.unit_of_work import UnitOfWork
from backend.web.console.common import PAGE

NOV = date(2026, 11, 1)


def _signed_in(
    client: TestClient, uow_factory: Callable[[], UnitOfWork], admin_id: int, clock: FixedClock
) -> None:
    with uow_factory() as uow:
        token = open_session(
            uow.session, kind="admin", subject_id=admin_id, now=clock.now(), ttl=timedelta(hours=1)
        )
        uow.commit()
    client.cookies.set("sm_session", token)


def _supplier(s: Session, n: int) -> int:
    row = Supplier(bin=f"9900000000{n:02d}", name=f"Supplier {n}")
    s.add(row)
    s.flush()
    return row.id


def test_the_contractors_of_many_schools_are_each_schools_own(
    uow_factory: Callable[[], UnitOfWork], make_school: Callable[..., int]
) -> None:
    switched, legacy, ended, none = (make_school() for _ in range(4))
    with uow_factory() as uow:
        s = uow.session
        first, second, old = _supplier(s, 1), _supplier(s, 2), _supplier(s, 3)
        s.add_all(
            [
                SupplierLink(supplier_id=first, school_id=switched, valid_from=date(2026, 9, 1), valid_to=date(2026, 11, 15)),
                SupplierLink(supplier_id=second, school_id=switched, valid_from=date(2026, 11, 16)),
                SupplierLink(supplier_id=first, school_id=ended, valid_from=date(2026, 9, 1), valid_to=date(2026, 10, 31)),
            ]
        )  # fmt: skip
        for school_id in (legacy, ended):
            school = s.get(School, school_id)
            assert school is not None
            school.supplier_id = old
        uow.commit()
        ids = [switched, legacy, ended, none]
        found = suppliers_for_month(s, ids, NOV)
        assert found == {switched: second, legacy: old, ended: old}  # the month's last link wins
        assert found == {i: x for i in ids if (x := supplier_for_month(s, i, NOV)) is not None}


def test_the_district_acts_page_shows_a_page_of_schools(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    make_school: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    names = [f"School {n:03d}" for n in range(PAGE + 1)]
    for name in reversed(names):
        make_school(district="Paged", name=name)
    admin_id, _ = admin_token(Role.DISTRICT_ADMIN, (), "Paged")
    _signed_in(client, uow_factory, admin_id, clock)
    first = client.get("/staff/acts", params={"month": "2026-08"})
    assert first.status_code == 200
    # no school has a supplier, so none has an act to page through (the acts' own paging is in
    # test_money_pages); the schools without one are named in one line, by name
    table = first.text[first.text.index('<table id="acts">') : first.text.index("</table>")]
    assert "<td>" not in table and "page=2" not in first.text
    line = first.text[first.text.index('<div class="inset">') :]
    assert [n for n in names if n in line] == names and line.index(names[0]) < line.index(names[PAGE])


def test_the_complaints_page_reads_one_page(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    make_school: Callable[..., int],
    make_parent: Callable[..., int],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    school, parent = make_school(district="Paged"), make_parent()
    with uow_factory() as uow:
        uow.session.add_all(
            ComplaintRow(
                parent_id=parent, pupil_id=0, school_id=school, district="Paged", text=f"complaint number {n:03d}.",
                status="received", created_at=clock.now() + timedelta(minutes=n),
            )
            for n in range(PAGE + 1)
        )  # fmt: skip
        uow.commit()
    admin_id, _ = admin_token(Role.DISTRICT_ADMIN, (), "Paged")
    _signed_in(client, uow_factory, admin_id, clock)
    first = client.get("/staff/complaints", params={"status": "all"}).text
    second = client.get("/staff/complaints", params={"status": "all", "page": "2"}).text
    # newest first
    assert first.count("complaint number") == PAGE and f"complaint number {PAGE:03d}." in first
    assert second.count("complaint number") == 1 and "complaint number 000." in second


def test_the_outbox_pages_and_filters_in_the_database_and_counts_up_to_its_cap(
    uow_factory: Callable[[], UnitOfWork],
    clock: FixedClock,
    make_school: Callable[..., int],
    make_parent: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    school, other = make_school(), make_school()
    parents = {school: make_parent(), other: make_parent()}
    with uow_factory() as uow:
        s = uow.session
        requests = {}
        for school_id in (school, other):
            lst = EligibilityList(school_id=school_id, month=NOV, status="checked", created_by=1)
            s.add(lst)
            s.flush()
            req = ConsentRequest(
                list_id=lst.id,
                parent_id=parents[school_id],
                phone="+77010000000",
                status="pending",
                sent_at=clock.now(),
            )
            s.add(req)
            s.flush()
            requests[school_id] = req.id
        for n in range(7):
            for school_id, status in ((school, "sent" if n % 2 else "queued"), (other, "sent")):
                s.add(
                    SmsMessage(
                        direction="out", phone="+77010000000", kind="request", body=f"{school_id}:{n}", status=status,
                        request_id=requests[school_id], created_at=clock.now(),
                    )
                )  # fmt: skip
        uow.commit()
        assert box.outbox_count(s, [school]) == 7 and box.outbox_count(s, [school], "queued") == 4
        newest = [m.body for m in box.outbox(s, [school], limit=3)]
        assert newest == [f"{school}:6", f"{school}:5", f"{school}:4"]  # only this school's, newest first
        assert [m.body for m in box.outbox(s, [school], limit=3, offset=3, status="queued")] == [
            f"{school}:0"
        ]
        monkeypatch.setattr(box, "MAX_SCAN", 5)
        assert box.outbox_count(s, [school]) == 5
        assert len(box.outbox(s, [school], limit=50, offset=3)) == 2  # nothing past the cap
