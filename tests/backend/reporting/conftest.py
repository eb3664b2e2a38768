"""A small billing world on top of tests/backend/conftest.py: a supplier, schools, pupils with vouchers,
a terminal, tariffs and meal events written straight into `meal_events` (ingestion is D1's, tested there).

`world` gives `World`: `.school`, `.other_school`, `.pupils` (free: 0..2, discounted: 3..4),
`.meal(pupil_index, day, slot=1, status="ok")`, `.tariff(...)`, `.set_status(event_id, status)`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest

from backend.calendar.model import SlotTime
from backend.calendar.services import set_slots
from backend.calendar.tables import TariffRow
from backend.clock import KZ_TZ
from backend.fleet.tables import TerminalRow
from backend.ingest.tables import MealEventRow, MealFlagRow
from backend.roster.tables import School, Supplier
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher, VoucherEvent

UowFactory = Callable[[], UnitOfWork]
SEPT = date(2026, 9, 1)
SLOT_TIMES = {1: time(9, 0), 2: time(12, 30)}
_seq = itertools.count(1)


@dataclass
class World:
    uow_factory: UowFactory
    school: int
    other_school: int
    supplier: int
    terminal: int
    pupils: list[int] = field(default_factory=list)
    vouchers: list[int] = field(default_factory=list)
    plans: list[int] = field(default_factory=list)

    def tariff(
        self, plan: int, slot: int, valid_from: date, amount: int, state: int, school_id: int | None = None
    ) -> None:
        with self.uow_factory() as uow:
            uow.session.add(
                TariffRow(
                    school_id=school_id,
                    plan=plan,
                    slot=slot,
                    valid_from=valid_from,
                    amount_tiyn=amount,
                    state_share_tiyn=state,
                )
            )
            uow.commit()

    def meal(
        self,
        i: int,
        day: date,
        slot: int = 1,
        status: str = "ok",
        *,
        received: datetime | None = None,
    ) -> bytes:
        event_id = uuid.uuid4().bytes
        served = datetime.combine(day, SLOT_TIMES[slot], KZ_TZ)
        with self.uow_factory() as uow:
            uow.session.add(
                MealEventRow(
                    id=event_id,
                    terminal_id=self.terminal,
                    school_id=self.school,
                    voucher_id=self.vouchers[i],
                    pupil_id=self.pupils[i],
                    plan=self.plans[i],
                    slot=slot,
                    served_at=served,
                    local_date=day,
                    method=1,
                    token_serial=1,
                    wall_trusted=True,
                    boot_id=b"\x00" * 16,
                    seq=next(_seq),
                    received_at=received or served + timedelta(minutes=5),
                    status=status,
                    flags=[] if status == "ok" else ["DOUBLE_MEAL"],
                )
            )
            if status != "ok":
                uow.session.flush()
                uow.session.add(MealFlagRow(event_id=event_id, code="DOUBLE_MEAL", detail="test"))
            uow.commit()
        return event_id

    def set_status(self, event_id: bytes, status: str) -> None:
        with self.uow_factory() as uow:
            row = uow.session.get(MealEventRow, event_id)
            assert row is not None
            row.status = status
            uow.commit()

    def voucher_event(self, i: int, at: datetime, old: str | None, new: str) -> None:
        with self.uow_factory() as uow:
            uow.session.add(
                VoucherEvent(voucher_id=self.vouchers[i], at=at, actor="test", old_status=old, new_status=new)
            )
            uow.commit()


@pytest.fixture
def world(uow_factory: UowFactory, make_school: Callable[..., int], make_pupil: Callable[..., int]) -> World:
    school, other = make_school(name="№5 мектеп-гимназиясы"), make_school()
    with uow_factory() as uow:
        supplier = Supplier(bin="210987654321", name="«Дәмді ас» ЖШС")
        uow.session.add(supplier)
        uow.session.flush()
        for s in (school, other):
            row = uow.session.get(School, s)
            assert row is not None
            row.supplier_id = supplier.id
        terminal = TerminalRow(
            school_id=school,
            canteen_id=1,
            public_key=b"\x01" * 32,
            kid=b"\x02" * 8,
            status="active",
            enrolled_at=datetime(2026, 8, 1, tzinfo=KZ_TZ),
        )
        uow.session.add(terminal)
        set_slots(uow, school, [SlotTime(1, time(8, 30), time(10)), SlotTime(2, time(12), time(14))])
        uow.commit()
        w = World(uow_factory, school, other, supplier.id, terminal.id)
    for i in range(5):
        plan = 1 if i < 3 else 2
        pupil = make_pupil(school, grade=2 if i < 3 else 6, full_name=f"Оқушы{i} Тестов")
        with uow_factory() as uow:
            v = Voucher(
                pupil_id=pupil,
                school_id=school,
                school_year=2026,
                plan=plan,
                status="active",
                valid_until=date(2027, 5, 31),
                updated_at=datetime(2026, 9, 1, tzinfo=KZ_TZ),
            )
            uow.session.add(v)
            uow.commit()
            w.vouchers.append(v.id)
        w.pupils.append(pupil)
        w.plans.append(plan)
    return w
