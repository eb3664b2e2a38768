"""Timesheet and act from meal events, on SQLite and PostgreSQL (the aggregate queries run on both)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from backend.billing import services
from backend.billing.model import ActStatus, BillingError, BillingReason, month_days
from backend.clock import KZ_TZ
from backend.errors import DomainError
from backend.http_errors import status_of
from backend.unit_of_work import UnitOfWork

from .conftest import SEPT, World

OCT_2 = datetime(2026, 10, 2, 9, 0, tzinfo=KZ_TZ)  # the September act is available
OCT_7 = datetime(2026, 10, 7, 9, 0, tzinfo=KZ_TZ)  # … and overdue
SEPT_20 = datetime(2026, 9, 20, 9, 0, tzinfo=KZ_TZ)


def standard_tariffs(w: World) -> None:
    w.tariff(1, 1, date(2026, 9, 1), 45_000, 45_000)  # free breakfast 450.00 ₸
    w.tariff(2, 1, date(2026, 9, 1), 45_000, 27_000)  # discounted: state 270.00, parent 180.00
    w.tariff(1, 2, date(2026, 9, 1), 80_050, 80_050)  # free lunch 800.50 ₸


@pytest.fixture
def uow(uow_factory: Callable[[], UnitOfWork]) -> Callable[[], UnitOfWork]:
    return uow_factory


def test_tariff_change_mid_month_prices_each_day(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    world.tariff(1, 1, date(2026, 9, 15), 47_500, 47_500)  # rise from the 15th (default for all schools)
    world.meal(0, date(2026, 9, 14))
    world.meal(1, date(2026, 9, 14))
    world.meal(0, date(2026, 9, 15))
    world.meal(0, date(2026, 9, 16), slot=2)
    with uow() as u:
        view = services.produce_act(u.session, world.school, SEPT, OCT_2)
    assert view.act.meals == 4
    assert view.act.amount_tiyn == 2 * 45_000 + 47_500 + 80_050
    assert {(ln.valid_from, ln.meals) for ln in view.act.lines if ln.slot == 1} == {
        (date(2026, 9, 1), 2),
        (date(2026, 9, 15), 1),
    }


def test_discounted_and_free_shares(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    for i in range(5):  # pupils 0-2 free, 3-4 discounted
        world.meal(i, date(2026, 9, 14))
    with uow() as u:
        act = services.produce_act(u.session, world.school, SEPT, OCT_2).act
    assert act.amount_tiyn == 5 * 45_000
    assert act.state_tiyn == 3 * 45_000 + 2 * 27_000
    assert act.parent_tiyn == 2 * 18_000
    by_plan = {ln.plan: ln for ln in act.lines}
    assert (by_plan[1].parent_tiyn, by_plan[2].parent_tiyn) == (0, 36_000)


def test_flagged_held_out_until_accepted(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    held = world.meal(0, date(2026, 9, 14), status="flagged")
    refused = world.meal(1, date(2026, 9, 14), status="flagged")
    with uow() as u:
        ts = services.timesheet(u.session, world.school, SEPT, names_shown=True)
        act = services.produce_act(u.session, world.school, SEPT, SEPT_20).act
    assert (ts.total, ts.held_flagged, act.meals) == (1, 2, 1)
    world.set_status(held, "accepted_by_admin")
    world.set_status(refused, "rejected_by_admin")
    with uow() as u:
        ts = services.timesheet(u.session, world.school, SEPT, names_shown=True)
        act = services.produce_act(u.session, world.school, SEPT, SEPT_20).act
    assert (ts.total, ts.held_flagged, act.meals, act.amount_tiyn) == (2, 0, 2, 90_000)
    row = next(r for r in ts.rows if r.pupil_id == world.pupils[0])
    assert row.cells[date(2026, 9, 14)] == 2


def test_draft_not_stored_then_versions_on_late_batch(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    with uow() as u:
        draft = services.produce_act(u.session, world.school, SEPT, SEPT_20)
        u.commit()
    assert (draft.status, draft.version) == (ActStatus.DRAFT, None)
    with uow() as u:
        v1 = services.produce_act(u.session, world.school, SEPT, OCT_2)
        u.commit()
    assert (v1.status, v1.version, v1.act.meals) == (ActStatus.AVAILABLE, 1, 1)
    with uow() as u:  # unchanged figures: the same version
        assert services.produce_act(u.session, world.school, SEPT, OCT_2).version == 1
        signed = services.sign_off(u, world.school, SEPT, 1, admin_id=_admin(u), now=OCT_2)
        u.commit()
    assert signed.status is ActStatus.SIGNED
    # a terminal that was offline uploads late: two September meals arrive in October
    world.meal(1, date(2026, 9, 29), received=OCT_7)
    world.meal(2, date(2026, 9, 30), slot=2, received=OCT_7)
    with uow() as u:
        v2 = services.produce_act(u.session, world.school, SEPT, OCT_7)
        u.commit()
    assert (v2.version, v2.act.meals, v2.status) == (2, 3, ActStatus.OVERDUE)
    assert v2.act.amount_tiyn == 2 * 45_000 + 80_050
    with uow() as u:
        old = services.act_version(u.session, world.school, SEPT, 1, OCT_7)
        stored = services.stored_acts(u.session, [world.school], SEPT, OCT_7)
    assert (old.status, old.superseded, old.act.meals) == (ActStatus.SIGNED, True, 1)  # kept as signed
    assert [v.version for v in stored] == [2, 1]


def _admin(u: UnitOfWork) -> int:
    from backend.auth.model import Role
    from backend.auth.testing import make_admin

    admin_id, _ = make_admin(u.session, Role.SCHOOL_HEAD, ())
    return admin_id


def test_sign_off_rules(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    with uow() as u:
        admin = _admin(u)
        with pytest.raises(DomainError) as early:
            services.sign_off(u, world.school, SEPT, 1, admin, SEPT_20)
        assert early.value.reason == "MONTH_NOT_OVER"
        services.produce_act(u.session, world.school, SEPT, OCT_2)
        with pytest.raises(DomainError) as stale:
            services.sign_off(u, world.school, SEPT, 2, admin, OCT_2)
        assert stale.value.reason == "STALE_VERSION"
        services.sign_off(u, world.school, SEPT, 1, admin, OCT_2)
        with pytest.raises(DomainError) as twice:
            services.sign_off(u, world.school, SEPT, 1, admin, OCT_2)
        assert twice.value.reason == "ALREADY_SIGNED"


def test_missing_tariff_is_refused_not_priced_at_zero(world: World, uow: Callable[[], UnitOfWork]) -> None:
    world.tariff(1, 1, date(2026, 9, 1), 45_000, 45_000)
    world.meal(3, date(2026, 9, 14))  # discounted plan: no tariff
    with uow() as u, pytest.raises(BillingError) as err:
        services.produce_act(u.session, world.school, SEPT, OCT_2)
    assert err.value.reason is BillingReason.NO_TARIFF


def test_exact_reconciliation_over_random_month(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    world.tariff(2, 1, date(2026, 9, 21), 46_000, 27_500)
    world.tariff(1, 2, date(2026, 9, 10), 81_000, 81_000, school_id=world.school)
    rng = random.Random(6)
    school_days = [d for d in month_days(SEPT) if d.weekday() < 5]
    expected_amount = expected_meals = 0
    for _ in range(120):
        i, day = rng.randrange(5), rng.choice(school_days)
        slot = 1 if i >= 3 else rng.choice((1, 2))
        status = rng.choice(("ok", "ok", "ok", "flagged", "accepted_by_admin", "rejected_by_admin"))
        world.meal(i, day, slot, status)
        if status in ("ok", "accepted_by_admin"):
            expected_meals += 1
            expected_amount += _price(world.plans[i], slot, day, own_school=True)
    with uow() as u:
        r = services.reconcile_month(u.session, world.school, SEPT)
        act = services.produce_act(u.session, world.school, SEPT, OCT_2).act
        ts = services.timesheet(u.session, world.school, SEPT, names_shown=False)
    assert r.ok, r.problems
    assert (r.events, r.timesheet_meals, r.act_meals) == (expected_meals,) * 3
    assert act.amount_tiyn == r.events_amount_tiyn == expected_amount
    assert ts.total == expected_meals and sum(ts.day_totals().values()) == expected_meals
    assert act.state_tiyn + act.parent_tiyn == act.amount_tiyn


def _price(plan: int, slot: int, day: date, *, own_school: bool) -> int:
    """The tariffs of the reconciliation test, written out independently of the TariffBook."""
    if slot == 2:
        return 81_000 if own_school and day >= date(2026, 9, 10) else 80_050
    if plan == 2:
        return 46_000 if day >= date(2026, 9, 21) else 45_000
    return 45_000


def test_timesheet_days_follow_the_calendar(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    with uow() as u:
        ts = services.timesheet(u.session, world.school, SEPT, names_shown=False)
    assert len(ts.days) == 22  # September 2026 has 22 weekdays
    assert date(2026, 9, 12) not in ts.days  # a Saturday
    assert ts.rows[0].label.endswith("2A") and "Тестов" not in ts.rows[0].label


def test_reconciliation_reports_an_unpriceable_billable_meal(
    world: World, uow: Callable[[], UnitOfWork]
) -> None:
    from backend.ingest.tables import MealEventRow

    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    odd = world.meal(1, date(2026, 9, 14), status="accepted_by_admin")
    with uow() as u:
        row = u.session.get(MealEventRow, odd)
        assert row is not None
        row.slot = None  # accepted by an admin, but outside any slot: cannot be priced
        u.commit()
    with uow() as u:
        r = services.reconcile_month(u.session, world.school, SEPT)
    assert not r.ok and "can be priced" in r.problems[-1]


def test_district_month_in_one_pass(world: World, uow: Callable[[], UnitOfWork]) -> None:
    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    with uow() as u:
        sheets = services.timesheets(u.session, [world.school, world.other_school], SEPT, names_shown=False)
        acts = services.produce_acts(
            u.session, [world.school, world.other_school], SEPT, OCT_2 + timedelta(1)
        )
    assert sheets[world.school].total == 1 and sheets[world.other_school].total == 0
    assert acts[world.other_school].act.meals == 0 and acts[world.other_school].version == 1


@pytest.mark.postgres
def test_concurrent_producers_store_one_version(pg_url: str) -> None:
    """A second request producing the same act waits for the first, then finds its version: no
    unique-constraint failure, one version."""
    import threading

    from sqlalchemy import func, select

    from backend.billing.tables import ActRow
    from backend.db import make_engine, make_session_factory
    from backend.roster.tables import School, Supplier

    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    with factory() as s:
        supplier = Supplier(bin="210987654321", name="S")
        s.add(supplier)
        s.flush()
        school = School(bin="000000000077", name="X", region="R", district="D", supplier_id=supplier.id)
        s.add(school)
        s.commit()
        school_id = school.id
    errors: list[BaseException] = []

    def produce_b() -> None:
        try:
            with factory() as s:
                services.produce_act(s, school_id, SEPT, OCT_2)
                s.commit()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    with factory() as a:
        services.produce_act(a, school_id, SEPT, OCT_2)  # A stored version 1, not yet committed
        b = threading.Thread(target=produce_b)
        b.start()
        b.join(timeout=0.5)  # B must wait for A, not race it
        waited = b.is_alive()
        a.commit()
    b.join()
    with factory() as s:
        versions = s.scalar(select(func.count()).select_from(ActRow).where(ActRow.school_id == school_id))
    engine.dispose()
    assert waited and errors == [] and versions == 1


def test_school_without_supplier_has_no_act(world: World, uow: Callable[[], UnitOfWork]) -> None:
    from backend.roster.tables import School

    standard_tariffs(world)
    with uow() as u:
        other = u.session.get(School, world.other_school)
        assert other is not None
        other.supplier_id = None
        u.commit()
    with uow() as u:
        acts = services.produce_acts(u.session, [world.school, world.other_school], SEPT, OCT_2)
        assert set(acts) == {world.school}  # the district list skips it
        for call in (services.produce_act, lambda s, i, m, _n: services.reconcile_month(s, i, m)):
            with pytest.raises(DomainError) as err:
                call(u.session, world.other_school, SEPT, OCT_2)
            assert (err.value.reason, status_of(err.value)) == ("NO_SUPPLIER", 409)


def test_pupil_moved_to_another_school_stays_on_the_old_timesheet(
    world: World, uow: Callable[[], UnitOfWork]
) -> None:
    from backend.roster.tables import Pupil

    standard_tariffs(world)
    world.meal(0, date(2026, 9, 14))
    with uow() as u:
        pupil = u.session.get(Pupil, world.pupils[0])
        assert pupil is not None
        pupil.school_id = world.other_school  # moved after the 14th
        u.commit()
    with uow() as u:
        ts = services.timesheet(u.session, world.school, SEPT, names_shown=True)
    assert [(r.pupil_id, r.total) for r in ts.rows] == [(world.pupils[0], 1)]
