"""The district dashboard's charts hold the daily report's figures: meals per day and per school,
coverage and held meals are the numbers `daily_report` gives for the same days and schools."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.auth.services import admin_principal
from backend.auth.tables import Admin
from backend.clock import KZ_TZ, FixedClock, local_date
from backend.reporting.services import daily_report
from backend.unit_of_work import UnitOfWork
from backend.web.console.dashboard import dashboard

from .conftest import Device


def test_the_charts_show_the_daily_reports_numbers(
    client: TestClient,
    clock: FixedClock,
    uow_factory: Callable[[], UnitOfWork],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_voucher: Callable[..., int],
    enrol_device: Callable[..., Device],
    with_lunch_slot: Callable[[int], None],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> None:
    schools = [make_school(district="Almaly", name=f"School {n}") for n in (1, 2)]
    make_school(district="Medeu", name="Elsewhere")
    served = {schools[0]: (3, 2), schools[1]: (1, 0)}  # meals on the first day, on the second
    first = datetime(2026, 9, 10, 12, 0, tzinfo=KZ_TZ)
    for school, per_day in served.items():
        clock.set(first - timedelta(days=1))  # the vouchers are active before the meals
        with_lunch_slot(school)
        device = enrol_device(school)
        vouchers = [make_voucher(make_pupil(school), school) for _ in range(4)]
        for day, n in enumerate(per_day):
            at = first + timedelta(days=day)
            clock.set(at + timedelta(minutes=5))
            events = [device.event(v, at) for v in vouchers[:n]]
            if events:
                assert device.upload(client, device.batch(events)).status_code == 200
        clock.set(first + timedelta(days=1, minutes=10))
        held = device.event(vouchers[3], first, trusted=False)  # a meal the school must decide on
        assert device.upload(client, device.batch([held])).status_code == 200
    clock.set(datetime(2026, 9, 12, 15, 0, tzinfo=KZ_TZ))
    admin_id, _ = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    with uow_factory() as uow:
        admin = uow.session.get(Admin, admin_id)
        assert admin is not None
        me = admin_principal(uow.session, admin)
        d = dashboard(uow.session, me, clock.now(), days=5)
        reports = [daily_report(uow.session, day, sorted(me.school_ids), clock.now()) for day in d.days]
    assert d.days[-1] == local_date(clock.now()) and len(d.days) == 5
    by_day = [b.value for b in d.meals_per_day.bars]
    assert by_day == [sum(s.meals_served for s in r.schools) for r in reports]
    assert by_day == [0, 0, 4, 2, 0]  # and those are the meals the terminals served
    per_school = {b.label: b.value for b in d.meals_per_school.bars}
    assert per_school == {"School 1": 5, "School 2": 1}
    held_bars = [b.value for b in d.held.bars]
    assert held_bars == [sum(s.flagged_held for s in r.schools) for r in reports] and held_bars[2] == 2
    today = {s.school_name: s for s in reports[-1].schools}
    assert {b.label: b.value for b in d.coverage.bars} == {
        name: (s.meals_served / s.active_vouchers if s.active_vouchers else 0.0) for name, s in today.items()
    }
    # the page draws the same bars
    r = client.get("/staff/dashboard")
    assert r.status_code == 200 and "/staff" in str(r.url)
