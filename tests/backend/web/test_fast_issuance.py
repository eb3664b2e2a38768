"""The issuance fast path answers exactly as the routes do: the same status, headers and body bytes as
the app with the fast path switched off, for a pass refresh and a single QR; every refusal is the app's
own answer, and a declined request has written nothing."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update

from backend.adapters.state_registry import InMemoryRegistry
from backend.app import create_app
from backend.auth.model import token_hash
from backend.auth.services import open_session, parent_principal
from backend.auth.tables import Admin
from backend.clock import KZ_TZ, FixedClock, local_date
from backend.config import Settings
from backend.context import AppContext
from backend.db import EngineStatements, ThreadStatements
from backend.fleet.tables import AllowlistVersionRow
from backend.passes import services as passes
from backend.passes.tables import PupilPassRow
from backend.roster.tables import Parent
from backend.unit_of_work import UnitOfWork
from backend.vouchers import services as vouchers
from backend.vouchers.model import MAX_SERIAL
from backend.vouchers.tables import Voucher
from backend.web.fast_issuance import FastIssuance
from demo.district import seed

BREAKFAST = datetime(2026, 12, 8, 8, 40, 3, tzinfo=KZ_TZ)  # a Tuesday, inside the first slot
BEKOVA = "+77011110001"  # one grade-2 child
MOTHER = "+77011110002"  # three children, none of them Bekova's
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


@dataclass
class Issuing:
    app: FastAPI
    ctx: AppContext
    clock: FixedClock
    fast: FastIssuance
    voucher_id: int
    token: str  # Bekova's session
    device: str  # her child's installed pass

    def call(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        return asyncio.run(_asgi(self.app, method, path, headers, body))

    def both(self, method: str, path: str, headers: dict[str, str]) -> tuple[Answer, Answer]:
        """The answer with the fast path, then the app's own with the fast path off."""
        first = self.call(method, path, headers)
        with self.off():
            return first, self.call(method, path, headers)

    @contextmanager
    def off(self) -> Iterator[None]:
        """The fast path declines everything: the app as it was without it."""

        async def declined(*_args: object) -> None:
            return None

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(self.fast, "_answer", declined)
            yield

    @property
    def postgres(self) -> bool:
        return self.ctx.engine.dialect.name == "postgresql"

    def next_serial(self) -> int:
        with self.ctx.session_factory() as s:
            return int(s.scalar(select(Voucher.next_serial).where(Voucher.id == self.voucher_id)) or 0)

    def set_voucher(self, **values: Any) -> None:
        with self.ctx.session_factory() as s:
            s.execute(update(Voucher).where(Voucher.id == self.voucher_id).values(**values))
            s.commit()


async def _asgi(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], list(message["headers"])
        else:
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["headers"], out["body"]


class Spy:
    """Counts the requests the fast path hands on to the app."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, *args: Any) -> None:
        self.calls += 1
        await self.app(*args)


@pytest.fixture
def issuing(backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuing]:
    settings = Settings(database_url=backend_url, key_dir=tmp_path / "keys")
    clock = FixedClock(BREAKFAST)
    registry = InMemoryRegistry()
    app = create_app(settings, clock=clock, registry=registry)
    ctx: AppContext = app.state.ctx
    now = clock.now()
    seed(ctx.session_factory, settings, registry, now)
    with UnitOfWork(ctx.session_factory) as uow:
        parent_id = uow.session.scalar(select(Parent.id).where(Parent.phone == BEKOVA))
        assert parent_id is not None
        principal = parent_principal(uow.session, parent_id)
        (child,) = vouchers.children_of(uow.session, principal)
        assert child.voucher_id is not None
        voucher_id = child.voucher_id
        vouchers.activate(uow, principal, voucher_id, now)
    with UnitOfWork(ctx.session_factory) as uow:
        token = open_session(
            uow.session, kind="parent", subject_id=parent_id, now=now, ttl=timedelta(hours=8)
        )
        uow.commit()
    with UnitOfWork(ctx.session_factory) as uow:
        link = passes.share(uow, principal, voucher_id, now=now, ttl=timedelta(minutes=30))
    with UnitOfWork(ctx.session_factory) as uow:
        device = passes.install(uow, link.token, label="test", now=now)
    asyncio.run(_asgi(app, "GET", "/no-such-path", {}, b""))  # builds the middleware stack
    layer: Any = app.middleware_stack
    while not isinstance(layer, FastIssuance):
        layer = layer.app
    spy = Spy(layer.app)
    monkeypatch.setattr(layer, "app", spy)
    out = Issuing(app, ctx, clock, layer, voucher_id, token, device)
    yield out
    ctx.engine.dispose()


def _spy(i: Issuing) -> Spy:
    app = i.fast.app
    assert isinstance(app, Spy)
    return app


def _qr(
    i: Issuing, token: str | None = None, voucher_id: int | None = None
) -> tuple[str, str, dict[str, str]]:
    path = f"/api/parent/v1/vouchers/{voucher_id or i.voucher_id}/qr"
    return "POST", path, {"Authorization": f"Bearer {token or i.token}", "Content-Length": "0"}


def _pass(device: str, **headers: str) -> tuple[str, str, dict[str, str]]:
    return "GET", "/pass/data.json", {"Cookie": f"sm_device={device}", **headers}


def test_a_single_qr_is_the_routes_answer_byte_for_byte(issuing: Issuing) -> None:
    serial = issuing.next_serial()
    fast = issuing.call(*_qr(issuing))
    assert _spy(issuing).calls == 0  # answered ahead of the app
    assert issuing.next_serial() == serial + 1
    issuing.set_voucher(next_serial=serial)  # the app then takes the same serial, signed the same way
    with issuing.off():
        slow = issuing.call(*_qr(issuing))
    assert _spy(issuing).calls == 1 and issuing.next_serial() == serial + 1
    assert fast == slow and fast[0] == 200
    assert dict(fast[1])[b"content-type"] == b"application/json"


def _refused_alike(i: Issuing, method: str, path: str, headers: dict[str, str]) -> Answer:
    serial = i.next_serial()
    fast, slow = i.both(method, path, headers)
    assert fast == slow, (fast, slow)
    assert i.next_serial() == serial  # nothing written by either
    assert fast[0] != 200
    return fast


def test_every_qr_refusal_is_the_apps_own(issuing: Issuing) -> None:
    i = issuing
    now = i.clock.now()
    with UnitOfWork(i.ctx.session_factory) as uow:
        s = uow.session
        mother = s.scalar(select(Parent.id).where(Parent.phone == MOTHER))
        admin = s.scalar(select(Admin.id).limit(1))
        assert mother is not None and admin is not None
        foreign = open_session(s, kind="parent", subject_id=mother, now=now, ttl=timedelta(hours=8))
        expired = open_session(
            s, kind="parent", subject_id=mother, now=now - timedelta(hours=9), ttl=timedelta(hours=8)
        )
        admin_token = open_session(s, kind="admin", subject_id=admin, now=now, ttl=timedelta(hours=8))
        uow.commit()
    method, path, _ = _qr(i)
    reasons = {
        "no token": _refused_alike(i, method, path, {}),
        "not bearer": _refused_alike(i, method, path, {"Authorization": f"Basic {i.token}"}),
        "unknown": _refused_alike(i, *_qr(i, token="no-such-session")),
        "expired": _refused_alike(i, *_qr(i, token=expired)),
        "admin": _refused_alike(i, *_qr(i, token=admin_token)),
        "foreign child": _refused_alike(i, *_qr(i, token=foreign)),
        "unknown voucher": _refused_alike(i, *_qr(i, voucher_id=10**9)),
        "id 0": _refused_alike(i, method, "/api/parent/v1/vouchers/0/qr", _qr(i)[2]),
        "id too big": _refused_alike(i, method, f"/api/parent/v1/vouchers/{2**63}/qr", _qr(i)[2]),
        "GET": _refused_alike(i, "GET", path, _qr(i)[2]),
    }
    i.set_voucher(status="suspended")
    reasons["suspended"] = _refused_alike(i, *_qr(i))
    i.set_voucher(status="active", valid_until=(now - timedelta(days=1)).astimezone(KZ_TZ).date())
    reasons["year over"] = _refused_alike(i, *_qr(i))
    i.set_voucher(valid_until=now.astimezone(KZ_TZ).date() + timedelta(days=30), next_serial=MAX_SERIAL + 1)
    reasons["serials exhausted"] = _refused_alike(i, *_qr(i))
    statuses = {k: v[0] for k, v in reasons.items()}
    assert statuses == {
        "no token": 401,
        "not bearer": 401,
        "unknown": 401,
        "expired": 401,
        "admin": 403,
        "foreign child": 404,
        "unknown voucher": 404,
        "id 0": 422,
        "id too big": 422,
        "GET": 405,
        "suspended": 409,
        "year over": 409,
        "serials exhausted": 409,
    }
    assert b'"reason":"VOUCHER_NOT_ACTIVE"' in reasons["year over"][2]


def test_a_qr_request_with_a_body_goes_to_the_app(issuing: Issuing) -> None:
    method, path, headers = _qr(issuing)
    status, _, _ = issuing.call(method, path, {**headers, "Content-Length": "2"}, b"{}")
    assert status == 200 and _spy(issuing).calls == 1


def test_a_pass_refresh_is_the_routes_answer_byte_for_byte(issuing: Issuing) -> None:
    i = issuing
    first = i.call(*_pass(i.device))  # the pass's first refresh takes its serial: the app's case
    assert first[0] == 200 and _spy(i).calls == 1
    for headers in ({}, {"Accept-Encoding": "gzip, br"}):
        fast, slow = i.both(*_pass(i.device, **headers))
        assert fast == slow and fast[0] == 200
    # the two fast answers did not reach the app; SQLite (the embedded default) takes the app's path
    assert _spy(i).calls == (3 if i.postgres else 5)
    assert dict(fast[1])[b"content-encoding"] == b"gzip"
    with i.ctx.session_factory() as s:
        refreshes = s.scalar(select(PupilPassRow.refreshes).where(PupilPassRow.voucher_id == i.voucher_id))
    assert refreshes == 5  # each answer, fast or not, is recorded once


def test_a_pass_refresh_reads_a_changed_calendar(issuing: Issuing) -> None:
    i = issuing
    i.call(*_pass(i.device))
    with i.ctx.session_factory() as s:  # the school's change counter moves on, as any calendar write does
        school_id = s.scalar(select(PupilPassRow.school_id).where(PupilPassRow.voucher_id == i.voucher_id))
        assert school_id is not None
        row = s.get(AllowlistVersionRow, school_id)
        if row is None:
            s.add(AllowlistVersionRow(school_id=school_id, version=1))
        else:
            row.version += 1
        s.commit()
    fast, slow = i.both(*_pass(i.device))
    assert fast == slow and fast[0] == 200 and _spy(i).calls == (2 if i.postgres else 3)


def test_every_pass_refusal_is_the_apps_own(issuing: Issuing) -> None:
    i = issuing
    i.call(*_pass(i.device))
    assert _refused_alike(i, "GET", "/pass/data.json", {})[0] == 404
    assert _refused_alike(i, *_pass("no-such-pass"))[0] == 404
    i.set_voucher(status="suspended")
    assert b"VOUCHER_NOT_ACTIVE" in _refused_alike(i, *_pass(i.device))[2]
    i.set_voucher(status="active")
    with i.ctx.session_factory() as s:
        s.execute(update(PupilPassRow).values(revoked_at=i.clock.now()))
        s.commit()
    assert b"PASS_REVOKED" in _refused_alike(i, *_pass(i.device))[2]


def test_a_pass_whose_serial_moved_on_gets_a_new_one_from_the_app(issuing: Issuing) -> None:
    i = issuing
    old = json.loads(i.call(*_pass(i.device))[2])["serial"]
    with UnitOfWork(i.ctx.session_factory) as uow:
        minimum = vouchers.supersede(
            uow.session, i.voucher_id, actor="test", reason="leak", now=i.clock.now()
        )
        uow.commit()
    calls = _spy(i).calls
    status, _, body = i.call(*_pass(i.device))
    assert status == 200 and _spy(i).calls == calls + 1
    assert json.loads(body)["serial"] >= minimum > old  # a serial the terminals do not refuse


def test_the_threads_own_connections_give_the_engines_rows(issuing: Issuing) -> None:
    i = issuing
    if not i.postgres:  # the embedded default runs them through the engine's pool
        assert isinstance(i.ctx.standalone, EngineStatements)
        return
    assert isinstance(i.ctx.standalone, ThreadStatements)
    i.call(*_pass(i.device))  # the pass's first refresh takes its serial
    now = i.clock.now()
    engine = EngineStatements(i.ctx.engine)
    cases = [
        (passes._REFRESH_STANDING, {"device": passes._hash(i.device), "now": now, "today": local_date(now)}),
        (
            vouchers._TAKE_SERIAL_FOR_SESSION,
            {
                "voucher_id": i.voucher_id,
                "token_hash": token_hash(i.token),
                "now": now,
                "today": local_date(now),
            },
        ),
    ]
    for stmt, params in cases:
        via_engine = engine.first(stmt, params)._asdict()
        direct = i.ctx.standalone.first(stmt, params)._asdict()
        if "next_serial" in direct:  # each took a serial
            assert direct["next_serial"] == via_engine["next_serial"] + 1
            direct["next_serial"] -= 1
        assert direct == via_engine
        assert [type(v) for v in direct.values()] == [type(v) for v in via_engine.values()]


def test_a_broken_connection_is_replaced(issuing: Issuing) -> None:
    i = issuing
    if not i.postgres:
        return  # no connections of its own on the embedded default
    select_pid = select(func.pg_backend_pid().label("pid"))
    first = i.ctx.standalone.first(select_pid, {}).pid
    with i.ctx.engine.connect() as conn:
        conn.execute(select(func.pg_terminate_backend(first)))
    with pytest.raises(psycopg.OperationalError):
        i.ctx.standalone.first(select_pid, {})
    assert i.ctx.standalone.first(select_pid, {}).pid != first


def test_close_ends_every_threads_connection(issuing: Issuing) -> None:
    i = issuing
    if not i.postgres:
        return  # no connections of its own on the embedded default
    select_pid = select(func.pg_backend_pid().label("pid"))
    pids: list[int] = []
    done = threading.Event()  # the threads live on, as the server's request threads do

    def request_thread() -> None:
        pids.append(i.ctx.standalone.first(select_pid, {}).pid)
        done.wait(10)

    threads = [threading.Thread(target=request_thread) for _ in range(3)]
    for t in threads:
        t.start()
    while len(pids) < 3:
        time.sleep(0.01)

    def alive() -> set[int]:
        with i.ctx.engine.connect() as conn:
            return set(conn.execute(text("SELECT pid FROM pg_stat_activity")).scalars()) & set(pids)

    try:
        assert len(set(pids)) == 3 and alive() == set(pids)
        i.ctx.standalone.close()
        for _ in range(50):  # the server ends a backend shortly after its client hangs up
            if not alive():
                break
            time.sleep(0.05)
        assert alive() == set()
        assert i.ctx.standalone.first(select_pid, {}).pid not in pids  # the caller's thread opens another
    finally:
        done.set()
        for t in threads:
            t.join()
