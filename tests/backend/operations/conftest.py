"""Operations fixtures: vouchers, calendars, enrolled terminals and signed batches on top of tests/backend/conftest.py.

- `make_voucher(pupil_id, school_id, status="active", plan=1, history=((at, old, new), ...))` → id
- `school_setup()` → Setup: a school with one slot (11:00–13:00 local, Monday–Friday), a pupil, a parent
  linked as mother, an active voucher, and an enrolled terminal (`Device`) with its own key;
  `setup` is the default `school_setup()` as a fixture
- `Device.auth(method, path)` → headers; `Device.upload(client, events)` → response;
  `Device.event(voucher_id, at, ...)` → a MealEvent
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.calendar import services as calendar
from backend.calendar.model import SlotTime
from backend.clock import KZ_TZ, FixedClock
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher, VoucherEvent
from shared_crypto import DeviceAuth, MealBatch, MealEvent, Method, SigningKey, sign_batch, sign_device_auth

API = "/api/terminal/v1"
LUNCH = datetime(2026, 9, 14, 12, 0, tzinfo=KZ_TZ)  # Monday, inside slot 1
_seq = itertools.count(1)


@dataclass
class Device:
    terminal_id: int
    school_id: int
    key: SigningKey
    clock: FixedClock
    boot_id: bytes = field(default_factory=lambda: os.urandom(16))
    seq: int = 0

    def auth(self, method: str, path: str, *, iat: int | None = None) -> dict[str, str]:
        now = int(self.clock.now().timestamp()) if iat is None else iat
        token = sign_device_auth(self.key, DeviceAuth(self.terminal_id, f"{method} {API}{path}", now))
        return {"X-SW-Device-Auth": token}

    def event(
        self,
        voucher_id: int | None,
        at: datetime,
        *,
        served: bool = True,
        slot: int | None = 1,
        trusted: bool = True,
        reason: str = "SERVED",
        day: int | None = None,
        mono_ms: int | None = None,
    ) -> MealEvent:
        self.seq += 1
        wall = int(at.timestamp() * 1000)
        local = at.astimezone(KZ_TZ).date()
        return MealEvent(
            event_id=os.urandom(16),
            seq=self.seq,
            boot_id=self.boot_id,
            mono_ms=wall - 1_700_000_000_000 if mono_ms is None else mono_ms,
            wall_ms=wall,
            wall_trusted=trusted,
            served=served,
            reason=reason,
            method=Method.QR,
            voucher_id=voucher_id,
            token_serial=1 if voucher_id is not None else None,
            slot=slot,
            day=day if day is not None else local.year * 10000 + local.month * 100 + local.day,
        )

    def batch(
        self, events: Sequence[MealEvent], *, terminal_id: int | None = None, key: SigningKey | None = None
    ) -> bytes:
        tid = self.terminal_id if terminal_id is None else terminal_id
        return sign_batch(key or self.key, MealBatch(tid, int(self.clock.now().timestamp()), tuple(events)))

    def upload(self, client: TestClient | httpx.Client, body: bytes) -> httpx.Response:
        headers = {**self.auth("POST", "/meal-batches"), "Content-Type": "application/cose"}
        return client.post(f"{API}/meal-batches", content=body, headers=headers)


@dataclass
class Setup:
    school_id: int
    pupil_id: int
    parent_id: int
    voucher_id: int
    device: Device
    admin: dict[str, str]  # district admin headers
    admin_id: int


@pytest.fixture
def make_voucher(uow_factory: Callable[[], UnitOfWork], clock: FixedClock) -> Callable[..., int]:
    def factory(
        pupil_id: int,
        school_id: int,
        status: str = "active",
        plan: int = 1,
        history: Sequence[tuple[datetime, str | None, str]] = (),
        min_serial: int = 0,
        valid_until: date = date(2027, 5, 31),
    ) -> int:
        with uow_factory() as uow:
            v = Voucher(
                pupil_id=pupil_id,
                school_id=school_id,
                school_year=2026,
                plan=plan,
                status=status,
                valid_until=valid_until,
                min_serial=min_serial,
                next_serial=min_serial + 1,
                updated_at=clock.now(),
            )
            uow.session.add(v)
            uow.session.flush()
            for at, old, new in history:
                uow.session.add(
                    VoucherEvent(voucher_id=v.id, at=at, actor="test", old_status=old, new_status=new)
                )
            uow.commit()
            return v.id

    return factory


@pytest.fixture
def enrol_device(
    client: TestClient, clock: FixedClock, admin_token: Callable[..., tuple[int, dict[str, str]]]
) -> Callable[..., Device]:
    def factory(school_id: int, key: SigningKey | None = None, canteen_id: int = 1) -> Device:
        _, headers = admin_token(Role.TECHNICIAN, (school_id,))
        r = client.post(
            "/api/admin/v1/terminals/enrolment-codes",
            json={"school_id": school_id, "canteen_id": canteen_id},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        key = key or SigningKey.generate()
        r = client.post(
            f"{API}/enrol",
            json={
                "code": r.json()["code"],
                "public_key": key.public.raw.hex(),
                "hostname": "t",
                "software_version": "1",
            },
        )
        assert r.status_code == 200, r.text
        return Device(r.json()["terminal_id"], school_id, key, clock)

    return factory


@pytest.fixture
def with_lunch_slot(uow_factory: Callable[[], UnitOfWork]) -> Callable[[int], None]:
    def factory(school_id: int) -> None:
        with uow_factory() as uow:
            calendar.set_slots(uow, school_id, [SlotTime(1, time(11, 0), time(13, 0))])
            uow.commit()

    return factory


@pytest.fixture
def school_setup(
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    make_voucher: Callable[..., int],
    enrol_device: Callable[..., Device],
    with_lunch_slot: Callable[[int], None],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
) -> Callable[..., Setup]:
    def factory(district: str = "Almaly") -> Setup:
        school = make_school(district=district)
        with_lunch_slot(school)
        pupil = make_pupil(school, full_name="Сейтқали Айгерим", class_name="5А")
        parent = make_parent(language="ru")
        link(pupil, parent)
        voucher = make_voucher(pupil, school)
        admin_id, headers = admin_token(Role.DISTRICT_ADMIN, (school,), district)
        return Setup(school, pupil, parent, voucher, enrol_device(school), headers, admin_id)

    return factory


@pytest.fixture
def setup(school_setup: Callable[..., Setup]) -> Setup:
    """The default `school_setup()`, for tests that need just one school."""
    return school_setup()


def json_of(r: httpx.Response) -> Any:
    assert r.headers["content-type"].startswith("application/json"), r.text
    return r.json()
