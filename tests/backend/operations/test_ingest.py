from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.auth.model import Role
from backend.clock import KZ_TZ, FixedClock
from backend.context import AppContext
from backend.fleet.model import TerminalIdentity
from backend.ingest import services
from backend.ingest.api import notifier_of, school_facts_of
from backend.ingest.model import BILLABLE, served_at
from backend.ingest.queries import voucher_meals
from backend.ingest.tables import MealEventRow, MealFlagRow, RefusalRow
from backend.notify.delivery import meal_notified_at
from backend.notify.delivery_tables import ParentNoticeRow
from backend.notify.tables import MealNoticeBatchRow
from backend.roster.tables import Pupil
from backend.unit_of_work import UnitOfWork
from backend.vouchers.model import VoucherStatus
from backend.vouchers.services import change_status
from backend.vouchers.tables import Voucher
from backend.web.notice_worker import collect
from shared_crypto import SigningKey, VerifyKey

from .conftest import LUNCH, Device, Setup

AdminToken = Callable[..., tuple[int, dict[str, str]]]
EVENING = datetime(2026, 9, 14, 18, 0, tzinfo=KZ_TZ)


Flags = Callable[[bytes], tuple[str, list[str]]]


@pytest.fixture
def flags(uow_factory: Callable[[], UnitOfWork]) -> Flags:
    """`flags(event_id)` → the stored event's (status, sorted flags)."""

    def read(event_id: bytes) -> tuple[str, list[str]]:
        with uow_factory() as uow:
            m = uow.session.get(MealEventRow, event_id)
            assert m is not None
            return m.status, sorted(m.flags)

    return read


def count(uow_factory: Callable[[], UnitOfWork], model: type[MealEventRow] | type[RefusalRow]) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def queued(uow_factory: Callable[[], UnitOfWork]) -> int:
    """Meals waiting in the outbox for their notices."""
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.sum(MealNoticeBatchRow.meals))) or 0)


def worker_pass(uow_factory: Callable[[], UnitOfWork], now: datetime) -> list[ParentNoticeRow]:
    """The worker's collection step; returns the meal notices in the parents' lists."""
    with uow_factory() as uow:
        collect(uow.session, now)
        uow.commit()
    with uow_factory() as uow:
        stmt = (
            select(ParentNoticeRow).where(ParentNoticeRow.kind == "meal_served").order_by(ParentNoticeRow.id)
        )
        notices = list(uow.session.scalars(stmt))
        uow.session.expunge_all()
        return notices


def test_replay_is_idempotent_and_notifies_once(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    setup: Setup,
) -> None:
    d = setup.device
    clock.set(EVENING)
    body = d.batch(
        [d.event(setup.voucher_id, LUNCH), d.event(None, LUNCH, served=False, reason="UNKNOWN_KID")]
    )
    assert d.upload(client, body).json() == {"accepted": 2, "duplicates": 0, "flagged": 0}
    assert d.upload(client, body).json() == {"accepted": 0, "duplicates": 2, "flagged": 0}
    assert (count(uow_factory, MealEventRow), count(uow_factory, RefusalRow), queued(uow_factory)) == (
        1,
        1,
        1,
    )
    with uow_factory() as uow:
        [record] = voucher_meals(uow.session, setup.school_id, setup.voucher_id)
        assert meal_notified_at(uow.session, [record.event_id]) == {}  # queued, not yet in a parent's list
        display = uow.session.scalar(
            select(Pupil.display).join(Voucher).where(Voucher.id == setup.voucher_id)
        )
    [notice] = worker_pass(uow_factory, clock.now())
    assert (notice.parent_id, notice.source, notice.display) == (
        setup.parent_id,
        f"meal:{record.event_id.hex()}",
        display,
    )
    assert notice.at == record.served_at and queued(uow_factory) == 0
    with uow_factory() as uow:
        assert meal_notified_at(uow.session, [record.event_id]) == {record.event_id: notice.created_at}
    assert d.upload(client, body).json()["duplicates"] == 2
    assert queued(uow_factory) == 0 and len(worker_pass(uow_factory, clock.now())) == 1  # told once
    assert record.billable and record.slot == 1 and record.local_date.isoformat() == "2026-09-14"


def test_the_notice_goes_to_the_guardian_with_a_phone(
    client: TestClient, clock: FixedClock, uow_factory: Callable[[], UnitOfWork], setup: Setup,
    make_pupil: Callable[..., int], make_voucher: Callable[..., int], make_parent: Callable[..., int],
    link: Callable[..., None],
) -> None:  # fmt: skip
    """The worker picks the guardian by pick_guardian's order (a phone first, then mother, father…)."""
    pupil = make_pupil(setup.school_id)
    v = make_voucher(pupil, setup.school_id)
    mother, father = make_parent(phone=None, language="ru"), make_parent(language="kk")
    link(pupil, mother, "mother")
    link(pupil, father, "father")
    lonely = make_voucher(make_pupil(setup.school_id), setup.school_id)  # no guardian linked
    d = setup.device
    clock.set(EVENING)
    served, alone = d.event(v, LUNCH + timedelta(minutes=7)), d.event(lonely, LUNCH)
    assert d.upload(client, d.batch([served, alone])).json()["accepted"] == 2
    assert queued(uow_factory) == 2
    [notice] = worker_pass(uow_factory, clock.now())  # the lonely pupil has no one to tell
    with uow_factory() as uow:
        display = str(uow.session.scalar(select(Pupil.display).where(Pupil.id == pupil)))
    assert (notice.parent_id, notice.pupil_id, notice.display) == (father, pupil, display)
    assert notice.source == f"meal:{served.event_id.hex()}" and notice.at == served_at(served)
    assert queued(uow_factory) == 0


def test_late_and_out_of_order_batches(
    client: TestClient,
    clock: FixedClock,
    flags: Flags,
    setup: Setup,
) -> None:
    d = setup.device
    monday, tuesday = d.event(setup.voucher_id, LUNCH), d.event(setup.voucher_id, LUNCH + timedelta(days=1))
    clock.set(EVENING + timedelta(days=4))  # the terminal was offline for days
    assert d.upload(client, d.batch([tuesday])).json()["flagged"] == 0
    assert d.upload(client, d.batch([monday])).json() == {"accepted": 1, "duplicates": 0, "flagged": 0}
    assert flags(monday.event_id) == ("ok", [])


def test_double_meal_from_another_terminal(
    client: TestClient,
    clock: FixedClock,
    flags: Flags,
    setup: Setup,
    enrol_device: Callable[..., Device],
) -> None:
    other = enrol_device(setup.school_id)
    clock.set(EVENING)
    first, second = (
        setup.device.event(setup.voucher_id, LUNCH),
        other.event(setup.voucher_id, LUNCH + timedelta(minutes=20)),
    )
    setup.device.upload(client, setup.device.batch([first]))
    assert other.upload(client, other.batch([second])).json()["flagged"] == 1
    assert flags(second.event_id) == ("flagged", ["DOUBLE_MEAL"])
    assert flags(first.event_id) == ("ok", [])
    # in one batch the later of the two is the double
    a, b = (
        setup.device.event(setup.voucher_id, LUNCH + timedelta(days=1, minutes=5)),
        setup.device.event(setup.voucher_id, LUNCH + timedelta(days=1)),
    )
    clock.advance(timedelta(days=1))
    setup.device.upload(client, setup.device.batch([a, b]))
    assert flags(a.event_id)[1] == ["DOUBLE_MEAL"] and flags(b.event_id)[1] == []


def test_meal_after_revocation_by_event_time(
    client: TestClient,
    clock: FixedClock,
    flags: Flags,
    setup: Setup,
    make_pupil: Callable[..., int],
    make_voucher: Callable[..., int],
) -> None:
    revoked_at = LUNCH + timedelta(minutes=30)
    v = make_voucher(
        make_pupil(setup.school_id),
        setup.school_id,
        status="revoked",
        history=[
            (LUNCH - timedelta(days=7), "awaiting_activation", "active"),
            (revoked_at, "active", "revoked"),
        ],
    )
    d = setup.device
    before, after = d.event(v, LUNCH), d.event(v, revoked_at + timedelta(minutes=5), slot=1)
    clock.set(EVENING)
    d.upload(client, d.batch([before]))
    d.upload(client, d.batch([after]))
    assert flags(before.event_id) == ("ok", [])
    assert "AFTER_REVOCATION" in flags(after.event_id)[1]


def test_school_facts_are_kept_until_the_school_changes(
    client: TestClient, clock: FixedClock, ctx: AppContext, uow_factory: Callable[[], UnitOfWork], flags: Flags,
    setup: Setup, make_pupil: Callable[..., int], make_voucher: Callable[..., int],
) -> None:  # fmt: skip
    """Batches of an unchanged school reuse the process's facts; a revocation raises the school's
    change counter, so the very next batch judges by the new status (and an older process's facts
    never let a meal after it through as ok)."""
    d = setup.device
    other = make_voucher(make_pupil(setup.school_id), setup.school_id)
    clock.set(EVENING)
    facts = school_facts_of(ctx)
    loads = facts.loads
    first, second = d.event(setup.voucher_id, LUNCH), d.event(other, LUNCH)
    d.upload(client, d.batch([first]))
    d.upload(client, d.batch([second]))
    assert facts.loads == loads + 1  # one load for both batches
    with uow_factory() as uow:
        voucher = uow.session.get(Voucher, other)
        assert voucher is not None
        change_status(
            uow.session,
            voucher,
            VoucherStatus.REVOKED,
            actor="test",
            reason="lost",
            now=LUNCH + timedelta(minutes=10),
        )
        uow.commit()
    late = d.event(other, LUNCH + timedelta(minutes=20))
    d.upload(client, d.batch([late]))
    assert facts.loads == loads + 2
    assert flags(first.event_id) == ("ok", []) and flags(second.event_id) == ("ok", [])
    assert "AFTER_REVOCATION" in flags(late.event_id)[1]


def test_clock_off(
    client: TestClient,
    clock: FixedClock,
    flags: Flags,
    setup: Setup,
) -> None:
    d = setup.device
    clock.set(LUNCH + timedelta(minutes=30))
    untrusted = d.event(setup.voucher_id, LUNCH, trusted=False)
    future = d.event(setup.voucher_id, LUNCH + timedelta(days=1))  # 23.5 h after it was received
    wrong_day = d.event(setup.voucher_id, LUNCH + timedelta(minutes=1), day=20260913)
    d.upload(client, d.batch([untrusted, future, wrong_day]))
    for e in (untrusted, future, wrong_day):
        assert "CLOCK_OFF" in flags(e.event_id)[1]


def test_clock_jump_within_a_boot(
    client: TestClient,
    clock: FixedClock,
    flags: Flags,
    setup: Setup,
) -> None:
    d = setup.device
    clock.set(EVENING)
    steady = [d.event(setup.voucher_id, LUNCH + timedelta(days=i)) for i in range(3)]
    # wall time says tomorrow, but the monotonic clock says one minute after the first event
    jumped = d.event(setup.voucher_id, LUNCH - timedelta(days=7), mono_ms=steady[0].mono_ms + 60_000)
    clock.advance(timedelta(days=3))
    d.upload(client, d.batch([*steady, jumped]))
    assert flags(jumped.event_id)[1] == ["CLOCK_OFF"]
    assert flags(steady[1].event_id)[1] == []


def test_non_school_day_outside_slot_unknown_and_foreign_voucher(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    flags: Flags,
    school_setup: Callable[..., Setup],
) -> None:
    s, elsewhere = school_setup(), school_setup()
    d = s.device
    clock.set(EVENING + timedelta(days=6))
    saturday = d.event(s.voucher_id, LUNCH + timedelta(days=5))
    early = d.event(s.voucher_id, LUNCH - timedelta(hours=3) + timedelta(days=1))
    unknown = d.event(999_999, LUNCH + timedelta(days=2))
    foreign = d.event(elsewhere.voucher_id, LUNCH + timedelta(days=3))
    r = d.upload(client, d.batch([saturday, early, unknown, foreign]))
    assert r.json() == {"accepted": 4, "duplicates": 0, "flagged": 4}
    assert flags(saturday.event_id)[1] == ["NON_SCHOOL_DAY"]
    assert flags(early.event_id)[1] == ["OUTSIDE_SLOT"]
    assert flags(unknown.event_id)[1] == ["UNKNOWN_VOUCHER"]
    assert flags(foreign.event_id)[1] == ["WRONG_SCHOOL"]
    assert queued(uow_factory) == 3  # the unknown voucher has no pupil to tell about


def test_over_daily_capacity(
    client: TestClient,
    clock: FixedClock,
    flags: Flags,
    setup: Setup,
    make_pupil: Callable[..., int],
    make_voucher: Callable[..., int],
) -> None:
    # active at lunch, revoked in the evening: its meal is fine, but the school now has one active voucher
    later = make_voucher(
        make_pupil(setup.school_id),
        setup.school_id,
        status="revoked",
        history=[
            (LUNCH - timedelta(days=3), None, "active"),
            (EVENING - timedelta(hours=1), "active", "revoked"),
        ],
    )
    d = setup.device
    clock.set(EVENING)
    first, second = d.event(setup.voucher_id, LUNCH), d.event(later, LUNCH + timedelta(minutes=1))
    assert d.upload(client, d.batch([first, second])).json()["flagged"] == 1
    assert flags(second.event_id)[1] == ["OVER_DAILY_CAPACITY"]


def test_batch_must_come_from_the_authenticated_terminal(
    client: TestClient, clock: FixedClock, setup: Setup
) -> None:
    d = setup.device
    clock.set(EVENING)
    e = d.event(setup.voucher_id, LUNCH)
    r = d.upload(client, d.batch([e], key=SigningKey.generate()))
    assert (r.status_code, r.json()["reason"]) == (403, "KEY_MISMATCH")
    r = d.upload(client, d.batch([e], terminal_id=d.terminal_id + 1))
    assert (r.status_code, r.json()["reason"]) == (403, "TERMINAL_MISMATCH")
    r = d.upload(client, b"\x00garbage")
    assert (r.status_code, r.json()["reason"]) == (400, "MALFORMED")
    r = client.post(
        "/api/terminal/v1/meal-batches",
        content=d.batch([e]),
        headers={**d.auth("POST", "/meal-batches"), "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()["reason"]) == (400, "WRONG_CONTENT_TYPE")
    r = client.post(
        "/api/terminal/v1/meal-batches", content=d.batch([e]), headers={"Content-Type": "application/cose"}
    )
    assert r.status_code == 401


def test_admin_decides_flagged_meals(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    setup: Setup,
    admin_token: AdminToken,
    flags: Flags,
) -> None:
    d = setup.device
    clock.set(EVENING)
    a, b = (
        d.event(setup.voucher_id, LUNCH, trusted=False),
        d.event(setup.voucher_id, LUNCH + timedelta(days=-2)),
    )
    clock.advance(timedelta(days=1))
    d.upload(client, d.batch([a, b]))
    listed = client.get(
        f"/api/admin/v1/flagged-meals?school_id={setup.school_id}", headers=setup.admin
    ).json()["meals"]
    assert {m["event_id"] for m in listed} == {a.event_id.hex(), b.event_id.hex()}
    assert {f["code"] for m in listed for f in m["flags"]} >= {"CLOCK_OFF", "NON_SCHOOL_DAY"}
    assert [flags(e.event_id)[0] in BILLABLE for e in (a, b)] == [False, False]  # held out of billing
    r = client.post(
        f"/api/admin/v1/flagged-meals/{a.event_id.hex()}/decision",
        json={"decision": "accept"},
        headers=setup.admin,
    )
    assert r.json()["status"] == "accepted_by_admin"
    r = client.post(
        f"/api/admin/v1/flagged-meals/{b.event_id.hex()}/decision",
        json={"decision": "reject", "note": "weekend"},
        headers=setup.admin,
    )
    assert r.json()["status"] == "rejected_by_admin"
    r = client.post(
        f"/api/admin/v1/flagged-meals/{b.event_id.hex()}/decision",
        json={"decision": "accept"},
        headers=setup.admin,
    )
    assert (r.status_code, r.json()["reason"]) == (409, "NOT_FLAGGED")
    assert [flags(e.event_id)[0] in BILLABLE for e in (a, b)] == [True, False]  # only the accepted one bills
    with uow_factory() as uow:
        decided = uow.session.scalars(select(MealFlagRow).where(MealFlagRow.event_id == b.event_id)).all()
        assert {(f.decision, f.decided_by, f.note) for f in decided} == {
            ("reject", setup.admin_id, "weekend")
        }
    _, supplier = admin_token(Role.SUPPLIER, (setup.school_id,))
    assert client.get("/api/admin/v1/flagged-meals", headers=supplier).status_code == 403
    _, other_head = admin_token(Role.SCHOOL_HEAD, ())
    r = client.post(
        f"/api/admin/v1/flagged-meals/{a.event_id.hex()}/decision",
        json={"decision": "reject"},
        headers=other_head,
    )
    assert r.status_code == 404


def test_concurrent_duplicate_uploads_count_once(
    ctx: AppContext,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    school_setup: Callable[..., Setup],
) -> None:
    s = school_setup()
    d = s.device
    clock.set(EVENING + timedelta(days=10))
    events = [d.event(s.voucher_id, LUNCH + timedelta(days=i)) for i in range(5)]
    data = d.batch(events)
    identity = TerminalIdentity(
        d.terminal_id, s.school_id, 1, VerifyKey(d.key.public.raw), LUNCH - timedelta(days=30)
    )
    results: list[services.IngestResult] = []
    start = threading.Barrier(6)

    def upload() -> None:
        batch = services.verify(data, identity)
        start.wait()
        with ctx.session_factory() as session:
            results.append(
                services.ingest(session, batch, identity, received_at=clock.now(), notifier=notifier_of(ctx))
            )
            session.commit()

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.accepted for r in results) == [0, 0, 0, 0, 0, 5]
    assert all(r.accepted + r.duplicates == 5 for r in results)
    assert (count(uow_factory, MealEventRow), queued(uow_factory)) == (5, 5)


def test_oversized_batch_refused_before_reading_it(
    client: TestClient, school_setup: Callable[..., Setup]
) -> None:
    d = school_setup().device
    r = d.upload(client, b"\x00" * (4 * 1024 * 1024 + 1))
    assert (r.status_code, r.json()["reason"]) == (413, "TOO_LARGE")


def test_untrusted_time_is_dated_by_the_boots_trusted_events(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    setup: Setup,
) -> None:
    d = setup.device
    clock.set(EVENING)
    trusted = d.event(setup.voucher_id, LUNCH)
    # wall clock reset to 1970-ish after a reboot-less clock loss; monotonic says 20 minutes after `trusted`
    lost = d.event(
        setup.voucher_id,
        datetime(2026, 1, 1, tzinfo=KZ_TZ),
        trusted=False,
        mono_ms=trusted.mono_ms + 20 * 60_000,
    )
    d.upload(client, d.batch([trusted, lost]))
    with uow_factory() as uow:
        [detail] = uow.session.scalars(
            select(MealFlagRow.detail).where(
                MealFlagRow.event_id == lost.event_id, MealFlagRow.code == "CLOCK_OFF"
            )
        ).all()
    assert detail.endswith("it was 2026-09-14T12:20+05:00")
