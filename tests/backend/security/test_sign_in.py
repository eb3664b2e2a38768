"""Sign-in limits (issue 10): cool-downs, not locks a stranger can trigger; no code in clear anywhere;
known and unknown accounts answered alike; password hashing in a bounded pool."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.adapters.orm import Base
from backend.auth.model import Role
from backend.auth.services import create_admin
from backend.clock import FixedClock
from backend.context import AppContext
from backend.hash_pool import HashPool, PoolBusy

OTP, LOGIN, ADMIN = "/api/auth/v1/parent/otp", "/api/auth/v1/parent/login", "/api/auth/v1/admin/login"
PHONE = "+77012223344"


def _client(app: object, address: str) -> TestClient:
    return TestClient(app, client=(address, 50000))  # type: ignore[arg-type]


def _code(delivered: Callable[[], list[tuple[str, str]]]) -> str:
    return delivered()[-1][1].rsplit(" ", 1)[-1]


def test_a_stranger_cannot_lock_the_parent_out(
    app: object,
    ctx: AppContext,
    make_parent: Callable[..., int],
    delivered_sms: Callable[[], list[tuple[str, str]]],
) -> None:
    make_parent(phone=PHONE)
    stranger, parent = _client(app, "198.51.100.7"), _client(app, "203.0.113.9")
    for _ in range(3):
        stranger.post(OTP, json={"phone": PHONE})
    refused = [stranger.post(LOGIN, json={"phone": PHONE, "code": "000000"}) for _ in range(8)]
    assert {r.status_code for r in refused} <= {401, 429} and refused[-1].status_code == 429
    assert int(refused[-1].headers["Retry-After"]) >= 1
    # the real parent, from their own phone's address, still gets a code and signs in
    assert parent.post(OTP, json={"phone": PHONE}).status_code == 202
    ok = parent.post(LOGIN, json={"phone": PHONE, "code": _code(delivered_sms)})
    assert ok.status_code == 200 and ok.json()["token"]


def test_code_requests_cool_down_per_phone_across_addresses(
    app: object, make_parent: Callable[..., int], clock: FixedClock
) -> None:
    make_parent(phone=PHONE)
    answers = [_client(app, f"192.0.2.{i}").post(OTP, json={"phone": PHONE}) for i in range(7)]
    assert [r.status_code for r in answers] == [202] * 5 + [429] * 2
    clock.advance(timedelta(seconds=3601))
    assert _client(app, "192.0.2.99").post(OTP, json={"phone": PHONE}).status_code == 202


def test_known_and_unknown_phones_are_answered_alike(app: object, make_parent: Callable[..., int]) -> None:
    make_parent(phone=PHONE)
    c = _client(app, "192.0.2.1")
    known = [c.post(OTP, json={"phone": PHONE}) for _ in range(4)]
    unknown = [c.post(OTP, json={"phone": "+77779998877"}) for _ in range(4)]
    assert [(r.status_code, r.content) for r in known] == [(r.status_code, r.content) for r in unknown]


def test_no_code_is_stored_in_clear(
    client: TestClient,
    ctx: AppContext,
    make_parent: Callable[..., int],
    delivered_sms: Callable[[], list[tuple[str, str]]],
) -> None:
    make_parent(phone=PHONE)
    assert client.post(OTP, json={"phone": PHONE}).status_code == 202
    code = _code(delivered_sms)
    with ctx.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                assert code not in repr(tuple(row)), table.name


def test_admin_passwords_back_off_and_unknown_logins_look_alike(
    app: object, ctx: AppContext, clock: FixedClock
) -> None:
    with ctx.session_factory() as s:
        create_admin(s, login="aliya", password="right-one", role=Role.DISTRICT_ADMIN, district="Almaly")
        s.commit()
    c = _client(app, "192.0.2.5")
    wrong = [c.post(ADMIN, json={"login": "aliya", "password": "nope"}) for _ in range(6)]
    ghost = [c.post(ADMIN, json={"login": "nobody", "password": "nope"}) for _ in range(6)]
    assert [(r.status_code, r.json()) for r in wrong] == [(r.status_code, r.json()) for r in ghost]
    # five wrong passwords a day are free; the sixth starts a cool-down of 30 s, doubling, at most 15 min
    sixth = c.post(ADMIN, json={"login": "aliya", "password": "right-one"})
    assert sixth.status_code == 429 and sixth.json()["reason"] == "LOGIN_THROTTLED"
    wait = int(sixth.headers["Retry-After"])
    assert wait == 30
    clock.advance(timedelta(seconds=wait))
    assert c.post(ADMIN, json={"login": "aliya", "password": "right-one"}).status_code == 200


def test_hash_pool_is_bounded() -> None:
    pool = HashPool(workers=1, max_waiting=2)
    gate = threading.Event()

    async def burst() -> list[object]:
        calls = [pool.run(gate.wait, 5) for _ in range(3)]
        tasks = [asyncio.ensure_future(c) for c in calls]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(burst())
    pool.shutdown()
    assert sum(isinstance(r, PoolBusy) for r in results) == 1 and results.count(True) == 2
