"""The per-school change counter behind the allowlist ETag (migration 0008_scale, backend/fleet/allowlist.py).

Each write a bundle depends on raises the counter of exactly the schools it concerns; token issuance
raises nothing; a conditional request that matches answers 304 without building or signing a bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from backend.calendar import services as calendar
from backend.calendar.model import DayRule, SlotTime, Tariff
from backend.clock import FixedClock
from backend.context import AppContext
from backend.fleet import allowlist
from backend.fleet.tables import AllowlistVersionRow, CardRegistration
from backend.roster.tables import Pupil, School
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import RevokedToken, Voucher
from shared_crypto import uid_hash

from .conftest import Setup
from .test_allowlist import fetch, verify

Write = Callable[[UnitOfWork], object]


def versions(uow_factory: Callable[[], UnitOfWork], *schools: int) -> list[int]:
    with uow_factory() as uow:
        got = dict(
            uow.session.execute(
                select(AllowlistVersionRow.school_id, AllowlistVersionRow.version).where(
                    AllowlistVersionRow.school_id.in_(schools)
                )
            ).all()
        )
    return [got.get(s, 0) for s in schools]


def apply(uow_factory: Callable[[], UnitOfWork], write: Write) -> None:
    with uow_factory() as uow:
        write(uow)
        uow.commit()


@pytest.fixture
def two_schools(
    school_setup: Callable[..., Setup], make_school: Callable[..., int]
) -> tuple[Setup, int, int]:
    """A set-up school in Almaly, a bare neighbour in Almaly and a bare school in Bostandyq."""
    return school_setup(), make_school(district="Almaly"), make_school(district="Bostandyq")


def _set(model: type[object], key: int, **values: object) -> Write:
    def write(uow: UnitOfWork) -> None:
        row = uow.session.get(model, key)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)

    return write


def test_each_write_the_bundle_depends_on_raises_its_schools_counters(
    two_schools: tuple[Setup, int, int],
    uow_factory: Callable[[], UnitOfWork],
    make_pupil: Callable[..., int],
    make_voucher: Callable[..., int],
    clock: FixedClock,
) -> None:
    s, neighbour, far = two_schools
    mine = s.school_id
    card = CardRegistration(pupil_id=s.pupil_id, uid_hash=uid_hash(b"\x04" * 7), registered_at=clock.now())
    writes: list[tuple[str, Write, set[int]]] = [
        ("voucher status", _set(Voucher, s.voucher_id, status="suspended"), {mine}),
        ("pupil display", _set(Pupil, s.pupil_id, display="A.B. 5A"), {mine}),
        ("card registered", lambda u: u.session.add(card), {mine}),
        ("card deactivated", lambda u: u.session.execute(update(CardRegistration).values(active=False)), {mine}),
        ("serial revoked", lambda u: u.session.add(RevokedToken(voucher_id=s.voucher_id, serial=2)), {mine}),
        ("slots", lambda u: calendar.set_slots(u, mine, [SlotTime(1, time(12), time(13))]), {mine}),
        ("weekdays", lambda u: calendar.set_weekdays(u, far, [0, 1, 2, 3, 4, 5]), {far}),
        ("district holiday",
         lambda u: calendar.set_day(u, DayRule(date(2026, 9, 16), False), district="Almaly"),
         {mine, neighbour}),
        ("school's tariff",
         lambda u: calendar.add_tariff(u, Tariff(neighbour, 1, 1, date(2026, 9, 1), 1, 1)),
         {neighbour}),
        ("default tariff",
         lambda u: calendar.add_tariff(u, Tariff(None, 1, 1, date(2026, 9, 1), 9, 9)),
         {mine, neighbour, far}),
        ("school moves district", _set(School, far, district="Medeu"), {far}),
        ("voucher moves school", _set(Voucher, s.voucher_id, school_id=neighbour), {mine, neighbour}),
    ]  # fmt: skip
    for name, write, touched in writes:
        before = versions(uow_factory, mine, neighbour, far)
        apply(uow_factory, write)
        after = versions(uow_factory, mine, neighbour, far)
        rose = {school for school, b, a in zip((mine, neighbour, far), before, after, strict=True) if a > b}
        assert rose == touched, name
    before = versions(uow_factory, mine)
    make_voucher(make_pupil(far), far)
    assert versions(uow_factory, mine) == before  # another school's new voucher
    assert versions(uow_factory, far)[0] > 0


def test_token_issuance_raises_no_counter(
    client: TestClient,
    setup: Setup,
    uow_factory: Callable[[], UnitOfWork],
    parent_token: Callable[[int], dict[str, str]],
) -> None:
    before = versions(uow_factory, setup.school_id)
    with uow_factory() as uow:
        voucher = uow.session.get(Voucher, setup.voucher_id)
        assert voucher is not None
        serial = voucher.next_serial
    r = client.post(f"/api/parent/v1/vouchers/{setup.voucher_id}/qr", headers=parent_token(setup.parent_id))
    assert r.status_code == 200, r.text
    with uow_factory() as uow:
        voucher = uow.session.get(Voucher, setup.voucher_id)
        assert voucher is not None and voucher.next_serial == serial + 1  # the issuance did write the row
    assert versions(uow_factory, setup.school_id) == before


def test_a_matching_conditional_request_builds_nothing(
    client: TestClient,
    ctx: AppContext,
    setup: Setup,
    uow_factory: Callable[[], UnitOfWork],
    make_pupil: Callable[..., int],
    make_voucher: Callable[..., int],
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = fetch(client, setup.device)
    etag = first.headers["ETag"]

    def no_build(*_a: object, **_k: object) -> None:
        raise AssertionError("built or signed a bundle")

    with monkeypatch.context() as m:
        m.setattr(allowlist, "bundle_content", no_build)
        m.setattr(allowlist, "sign_bundle", no_build)
        r = fetch(client, setup.device, etag=etag)
        assert (r.status_code, r.headers["ETag"], r.content) == (304, etag, b"")
        again = fetch(client, setup.device)  # unconditional, nothing changed: the stored bytes
        assert (again.status_code, again.content, again.headers["ETag"]) == (200, first.content, etag)
    # a write that leaves the bundle as it was: a new ETag, the same bytes and sequence
    make_voucher(make_pupil(setup.school_id), setup.school_id, status="awaiting_activation")
    same = fetch(client, setup.device, etag=etag)
    assert same.status_code == 200 and same.content == first.content and same.headers["ETag"] != etag
    assert fetch(client, setup.device, etag=same.headers["ETag"]).status_code == 304
    # a write that changes it: re-signed with the next sequence
    apply(uow_factory, _set(Voucher, setup.voucher_id, status="revoked"))
    changed = fetch(client, setup.device, etag=same.headers["ETag"])
    assert changed.status_code == 200
    assert verify(ctx, changed.content, setup.school_id).sequence == 2
    clock.advance(timedelta(days=1))  # the next local day: the old ETag no longer matches
    assert fetch(client, setup.device, etag=changed.headers["ETag"]).status_code == 200
