from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from datetime import date, time, timedelta

import httpx
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.calendar import services as calendar
from backend.calendar.model import DayRule, SlotTime, Tariff, tariff_in_force
from backend.clock import FixedClock
from backend.context import AppContext
from backend.fleet.allowlist import refresh_handler, serve_allowlist
from backend.fleet.tables import CardRegistration
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import RevokedToken, Voucher
from shared_crypto import (
    Bundle,
    EntryStatus,
    MealSlot,
    TariffChange,
    TrustStore,
    uid_hash,
    verify_bundle,
    verify_card_credential,
    verify_trust_list,
)

from .conftest import API, Device, Setup

AdminToken = Callable[..., tuple[int, dict[str, str]]]


def fetch(client: TestClient, d: Device, etag: str | None = None, gz: bool = False) -> httpx.Response:
    headers = d.auth("GET", "/allowlist")
    if etag:
        headers["If-None-Match"] = etag
    headers["Accept-Encoding"] = "gzip" if gz else "identity"
    r: httpx.Response = client.get(f"{API}/allowlist", headers=headers)
    return r


def verify(ctx: AppContext, data: bytes, school_id: int) -> Bundle:
    tl = verify_trust_list(ctx.keys.trust_list_cose(), ctx.keys.root_public(), now=None, leeway=0)
    return verify_bundle(
        data, TrustStore(tl.keys), school_id=school_id, now=int(ctx.clock.now().timestamp()), leeway=0
    )


def test_bundle_carries_vouchers_cards_calendar_and_revocations(
    client: TestClient,
    ctx: AppContext,
    uow_factory: Callable[[], UnitOfWork],
    school_setup: Callable[..., Setup],
    make_pupil: Callable[..., int],
    make_voucher: Callable[..., int],
) -> None:
    s = school_setup()
    suspended = make_voucher(make_pupil(s.school_id), s.school_id, status="suspended", plan=2, min_serial=4)
    make_voucher(make_pupil(s.school_id), s.school_id, status="awaiting_activation")
    make_voucher(
        make_pupil(s.school_id), s.school_id, status="active", valid_until=date(2026, 9, 1)
    )  # lapsed
    with uow_factory() as uow:
        uow.session.add(
            CardRegistration(
                pupil_id=s.pupil_id,
                uid_hash=uid_hash(b"\x04" * 7),
                registered_at=ctx.clock.now(),
                active=True,
            )
        )
        uow.session.add(
            CardRegistration(
                pupil_id=s.pupil_id,
                uid_hash=uid_hash(b"\x05" * 7),
                registered_at=ctx.clock.now(),
                active=False,
            )
        )
        uow.session.add(RevokedToken(voucher_id=s.voucher_id, serial=3))
        calendar.set_day(uow, DayRule(date(2026, 9, 15), False, note="holiday"), district="Almaly")
        uow.commit()
    r = fetch(client, s.device)
    assert r.status_code == 200 and r.headers["content-type"] == "application/cose"
    b = verify(ctx, r.content, s.school_id)
    assert b.sequence == 1
    by_id = {e.voucher_id: e for e in b.entries}
    assert set(by_id) == {s.voucher_id, suspended}
    mine = by_id[s.voucher_id]
    assert mine.status is EntryStatus.ACTIVE and mine.display == "С.А. 5А" and len(mine.pseudonym) == 16
    assert mine.card_uid_hashes == (uid_hash(b"\x04" * 7),)
    assert (by_id[suspended].status, by_id[suspended].plan, by_id[suspended].min_serial) == (
        EntryStatus.SUSPENDED,
        2,
        4,
    )
    assert b.revoked == frozenset({(s.voucher_id, 3)})
    assert 20260914 in b.calendar.days and 20260915 not in b.calendar.days and 20260919 not in b.calendar.days
    # the school's one slot, 11:00-13:00 local, in minutes; UTC+5
    assert (b.calendar.slots, b.calendar.days[20260914], b.calendar.utc_offset_minutes) == (
        (MealSlot(1, 660, 780),),
        (1,),
        300,
    )
    assert b.valid_until - b.generated_at == 48 * 3600


def test_bundle_tariffs_match_the_calendar_with_a_change_mid_window(
    client: TestClient,
    ctx: AppContext,
    uow_factory: Callable[[], UnitOfWork],
    school_setup: Callable[..., Setup],
    make_school: Callable[..., int],
) -> None:
    s = school_setup()  # today is Monday 2026-09-14; the window runs to 2026-09-27
    other = make_school()
    tariffs = [
        Tariff(None, 1, 1, date(2026, 9, 1), 90_000, 90_000),
        Tariff(None, 2, 1, date(2026, 9, 1), 90_000, 60_000),
        Tariff(None, 1, 2, date(2026, 9, 1), 50_000, 50_000),
        Tariff(s.school_id, 2, 1, date(2026, 9, 17), 95_000, 60_000),  # the school's own, mid-window
        Tariff(None, 1, 2, date(2026, 9, 21), 55_000, 55_000),
        Tariff(None, 1, 1, date(2026, 9, 28), 99_000, 99_000),  # after the window
        Tariff(None, 2, 2, date(2026, 9, 24), 50_000, 0),  # the state pays nothing: the family all
        Tariff(s.school_id, 2, 2, date(2026, 9, 25), 50_000, 35_000),  # a change of the share alone
        Tariff(other, 1, 1, date(2026, 9, 15), 1, 1),  # another school's
    ]
    with uow_factory() as uow:
        # slot 2 runs first: the bundle still lists tariffs in (plan, slot id) order
        calendar.set_slots(
            uow,
            s.school_id,
            [SlotTime(2, time(9, 0), time(10, 0)), SlotTime(1, time(11, 0), time(13, 0))],
        )
        for t in tariffs[:3]:
            calendar.add_tariff(uow, t)
        uow.commit()
    before = verify(ctx, fetch(client, s.device).content, s.school_id)
    assert (before.calendar.tariffs, before.calendar.tariff_changes) == (
        {1: {1: 90_000, 2: 50_000}, 2: {1: 90_000}},
        (),
    )
    # the discounted plan's share (900 ₸ − 600 ₸ state share) reaches the bundle; the free plan's is 0
    assert before.calendar.family_shares == {2: {1: 30_000}}
    assert (before.calendar.family_share(20260914, 2, 1), before.calendar.family_share(20260914, 1, 1)) == (
        30_000,
        0,
    )
    with uow_factory() as uow:
        for t in tariffs[3:]:
            calendar.add_tariff(uow, t)
        uow.commit()
    b = verify(ctx, fetch(client, s.device).content, s.school_id)
    assert b.sequence == before.sequence + 1  # a tariff change alone re-signs the bundle
    assert b.calendar.tariffs == before.calendar.tariffs
    assert b.calendar.tariff_changes == (
        TariffChange(20260917, 2, 1, 95_000, 35_000),
        TariffChange(20260921, 1, 2, 55_000),
        TariffChange(20260924, 2, 2, 50_000, 50_000),
        TariffChange(20260925, 2, 2, 50_000, 15_000),
    )
    with uow_factory() as uow:
        stored = calendar.load_tariffs(uow.session, [s.school_id])
    for i in range(14):
        day = date(2026, 9, 14) + timedelta(days=i)
        for plan in (1, 2):
            for slot in (1, 2):
                rule = tariff_in_force(stored, school_id=s.school_id, plan=plan, slot=slot, day=day)
                key = day.year * 10000 + day.month * 100 + day.day
                assert b.calendar.tariff(key, plan, slot) == (rule and rule.amount_tiyn), (day, plan, slot)
                share = rule and rule.family_share_tiyn
                assert b.calendar.family_share(key, plan, slot) == share, (day, plan, slot)


def test_sequence_rises_only_on_change_and_daily(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    ctx: AppContext,
    school_setup: Callable[..., Setup],
) -> None:
    s = school_setup()
    first = fetch(client, s.device)
    same = fetch(client, s.device)
    assert same.content == first.content and same.headers["ETag"] == first.headers["ETag"]
    assert fetch(client, s.device, etag=first.headers["ETag"]).status_code == 304
    with uow_factory() as uow:
        v = uow.session.get(Voucher, s.voucher_id)
        assert v is not None
        v.status = "revoked"
        uow.commit()
    changed = fetch(client, s.device, etag=first.headers["ETag"])
    assert changed.status_code == 200
    b = verify(ctx, changed.content, s.school_id)
    assert b.sequence == 2 and b.entries[0].status is EntryStatus.REVOKED
    clock.advance(timedelta(days=1))  # next morning, nothing else changed: a new bundle all the same
    assert verify(ctx, fetch(client, s.device).content, s.school_id).sequence == 3


def test_gzip_when_asked(client: TestClient, ctx: AppContext, school_setup: Callable[..., Setup]) -> None:
    s = school_setup()
    plain = fetch(client, s.device)
    packed = fetch(client, s.device, gz=True)
    assert packed.headers.get("content-encoding") == "gzip"
    assert packed.content == plain.content  # httpx decodes; the ETag names the decoded bytes
    assert packed.headers["ETag"] == plain.headers["ETag"]
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["content-length"]) == len(gzip.compress(plain.content, 6, mtime=0))


def test_card_endpoints(
    client: TestClient,
    ctx: AppContext,
    school_setup: Callable[..., Setup],
    admin_token: AdminToken,
    make_school: Callable[..., int],
) -> None:
    s = school_setup()
    _, tech = admin_token(Role.TECHNICIAN, (s.school_id,))
    bundle = verify(ctx, fetch(client, s.device).content, s.school_id)
    pseudonym = bundle.entries[0].pseudonym.hex()
    uid = bytes.fromhex("04a1b2c3d4e5f6")
    r = client.post(
        "/api/admin/v1/cards/credential", json={"pseudonym": pseudonym, "uid": uid.hex()}, headers=tech
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/cose"
    tl = verify_trust_list(ctx.keys.trust_list_cose(), ctx.keys.root_public(), now=None, leeway=0)
    cred = verify_card_credential(
        r.content, TrustStore(tl.keys), uid=uid, now=None, leeway=0, school_id=s.school_id
    )
    assert cred.pseudonym.hex() == pseudonym
    r = client.post(
        "/api/admin/v1/cards/register", json={"pseudonym": pseudonym, "uid": uid.hex()}, headers=tech
    )
    assert r.json() == {"uid_hash": uid_hash(uid).hex()}
    r = client.post(
        "/api/admin/v1/cards/register", json={"pseudonym": pseudonym, "uid": uid.hex()}, headers=tech
    )
    assert (r.status_code, r.json()["reason"]) == (409, "CARD_ALREADY_REGISTERED")
    assert verify(ctx, fetch(client, s.device).content, s.school_id).entries[0].card_uid_hashes == (
        uid_hash(uid),
    )
    r = client.post(
        "/api/admin/v1/cards/register", json={"pseudonym": pseudonym, "uid": "0102"}, headers=tech
    )
    # the OpenAPI description says a UID is 4, 7 or 10 bytes of hex: malformed, so refused before the use case
    assert (r.status_code, r.json()["reason"]) == (422, "INVALID_REQUEST")
    r = client.post(
        "/api/admin/v1/cards/credential", json={"pseudonym": "00" * 16, "uid": uid.hex()}, headers=tech
    )
    assert (r.status_code, r.json()["reason"]) == (404, "NO_SUCH_PUPIL")
    _, elsewhere = admin_token(Role.TECHNICIAN, (make_school(),))
    r = client.post(
        "/api/admin/v1/cards/credential", json={"pseudonym": pseudonym, "uid": uid.hex()}, headers=elsewhere
    )
    assert r.status_code == 403


def test_concurrent_first_requests_sign_one_bundle(
    ctx: AppContext, make_school: Callable[..., int], with_lunch_slot: Callable[[int], None]
) -> None:
    school = make_school()
    with_lunch_slot(school)
    seqs: list[int] = []
    gate = threading.Barrier(4)

    def fetch_one() -> None:
        gate.wait()
        with UnitOfWork(ctx.session_factory) as uow:
            seqs.append(serve_allowlist(uow, ctx.keys, school, ctx.clock.now()).sequence)

    threads = [threading.Thread(target=fetch_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seqs == [1, 1, 1, 1]


def test_daily_job_brings_every_school_up_to_date(
    ctx: AppContext,
    clock: FixedClock,
    make_school: Callable[..., int],
    with_lunch_slot: Callable[[int], None],
) -> None:
    schools = [make_school(), make_school()]
    for s in schools:
        with_lunch_slot(s)
    job = refresh_handler(ctx.keys)
    with ctx.session_factory() as session, session.begin():
        assert job(session, {}, clock.now()) == "2 allowlists current"
    clock.advance(timedelta(days=1))
    with ctx.session_factory() as session, session.begin():
        job(session, {"school_ids": [schools[0]]}, clock.now())
    with UnitOfWork(ctx.session_factory) as uow:
        seqs = [serve_allowlist(uow, ctx.keys, s, clock.now()).sequence for s in schools]
    assert seqs == [2, 2]  # the second school's day-2 bundle is made on request


def test_the_worker_refreshes_allowlists_once_a_school_day(
    ctx: AppContext,
    clock: FixedClock,
    make_school: Callable[..., int],
    with_lunch_slot: Callable[[int], None],
) -> None:
    from backend.fleet.tables import AllowlistRow
    from backend.worker import tick

    school = make_school()
    with_lunch_slot(school)

    def stored_sequence() -> int | None:
        with ctx.session_factory() as session:
            row = session.get(AllowlistRow, school)
            return None if row is None else row.sequence

    assert stored_sequence() is None
    # one each a local day: the allowlist refresh, yesterday's report to the state, last month's acts
    assert tick(ctx)["jobs"] == 3
    assert stored_sequence() == 1  # made by the worker before any terminal asked
    assert tick(ctx)["jobs"] == 0
    clock.advance(timedelta(hours=1))
    assert tick(ctx)["jobs"] == 0  # one refresh job a local day, however often the worker runs
    clock.advance(timedelta(days=1))
    assert tick(ctx)["jobs"] == 3
    assert stored_sequence() == 2  # the next day's calendar window: a new bundle
