"""The allowlist's 304 answered ahead of FastAPI (backend/fleet/not_modified.py), from the database or
from the process's terminal map (backend/fleet/terminal_map.py) while it is fresh.

Only a valid token with the current ETag is answered there, with the route's own headers; everything
else reaches the route and gets the route's answer, refusals with their reason codes. The map may answer
an old ETag or a retired terminal's 304 only inside its bound (1 s here), never at or after it; these run
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from backend.clock import FixedClock
from backend.fleet import api, not_modified, terminal_map
from backend.fleet.tables import AllowlistVersionRow, TerminalRow
from backend.unit_of_work import UnitOfWork
from backend.vouchers.tables import Voucher
from shared_crypto import SigningKey

from .conftest import API, Device, Setup
from .test_allowlist import fetch


def _never(*_a: object, **_k: object) -> tuple[object, str]:
    raise AssertionError("reached")


def test_current_etag_is_answered_before_the_route_with_the_routes_headers(
    client: TestClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    with monkeypatch.context() as m:
        m.setattr(api, "current_etag", _never)  # the route is not reached
        fast = fetch(client, setup.device, etag=etag)
    with monkeypatch.context() as m:
        m.setattr(not_modified, "current_etag", _never)  # the fast path passes: the route answers
        routed = fetch(client, setup.device, etag=etag)
    assert (fast.status_code, routed.status_code) == (304, 304)
    assert fast.content == routed.content == b""
    assert list(fast.headers.multi_items()) == list(routed.headers.multi_items())
    assert dict(fast.headers) == {"etag": etag, "cache-control": "no-cache", "vary": "Accept-Encoding"}


def test_everything_else_reaches_the_route(
    client: TestClient, setup: Setup, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    d = setup.device
    assert fetch(client, d, etag='"other"').status_code == 200  # another ETag: the bundle
    no_token = client.get(f"{API}/allowlist", headers={"If-None-Match": etag})
    assert (no_token.status_code, no_token.json()["reason"]) == (401, "NO_DEVICE_AUTH")
    stale = d.auth("GET", "/allowlist", iat=int(clock.now().timestamp()) - 3600)
    r = client.get(f"{API}/allowlist", headers={**stale, "If-None-Match": etag})
    assert r.status_code == 401 and "server_time" in r.json()
    other_line = d.auth("GET", "/trust-list")  # a token made for another request
    r = client.get(f"{API}/allowlist", headers={**other_line, "If-None-Match": etag})
    assert (r.status_code, r.json()["reason"]) == (401, "MALFORMED")
    clock.advance(timedelta(days=1))  # the next local day: the old ETag is no longer current
    assert fetch(client, d, etag=etag).status_code == 200


def test_a_retired_terminal_holding_the_current_etag_is_refused_on_its_next_request(
    client: TestClient, setup: Setup, uow_factory: Callable[[], UnitOfWork]
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    assert fetch(client, setup.device, etag=etag).status_code == 304  # key parsed and kept by the process
    with uow_factory() as uow:
        uow.session.execute(
            update(TerminalRow).where(TerminalRow.id == setup.device.terminal_id).values(status="retired")
        )
        uow.commit()
    r = fetch(client, setup.device, etag=etag)
    assert (r.status_code, r.json()["reason"]) == (401, "TERMINAL_RETIRED")


def _layer(client: TestClient) -> not_modified.AllowlistNotModified:
    app = client.app.middleware_stack  # type: ignore[attr-defined]  # built by the first request
    while not isinstance(app, not_modified.AllowlistNotModified):
        app = app.app
    return app


def test_a_dropped_kept_connection_costs_one_fast_answer_not_a_wrong_one(
    client: TestClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    assert fetch(client, setup.device, etag=etag).status_code == 304  # the layer opened its connection
    routed: list[str] = []

    def counted(*a: object, **k: object) -> tuple[object, str]:
        routed.append("route")
        return not_modified.current_etag(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "current_etag", counted)
    kept = _layer(client)._kept._conn
    assert kept is not None
    kept.connection.dbapi_connection.close()  # type: ignore[union-attr]  # as a server or pooler drops it
    after = [fetch(client, setup.device, etag=etag) for _ in range(2)]
    assert [r.status_code for r in after] == [304, 304]
    same = {"etag": etag, "cache-control": "no-cache", "vary": "Accept-Encoding"}
    assert dict(after[0].headers) == dict(after[1].headers) == same
    assert routed == ["route"]  # the first went to the route; the next was the layer's again, reconnected


def test_a_request_finding_the_kept_connection_busy_is_answered_on_a_pooled_one(
    client: TestClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    monkeypatch.setattr(api, "current_etag", _never)  # answered by the layer, not the route
    with _layer(client)._kept._lock:  # another request is using it
        r = fetch(client, setup.device, etag=etag)
    assert (r.status_code, r.headers["ETag"]) == (304, etag)


# -- the terminal map (backend/fleet/terminal_map.py) ----------------------------------------------


class Mono:
    """The map's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _mapped(client: TestClient) -> tuple[terminal_map.TerminalMap, Mono]:
    """The layer's map turned on (1 s bound) with the test's clock, and read once."""
    m, mono = _layer(client).map, Mono()
    m.max_age, m.clock = 1.0, mono
    m.refresh()
    return m, mono


def _no_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any 304 from now on must come from the map: no thread-pool hop, no read by the layer or the route."""

    def hop(*_a: object, **_k: object) -> object:
        raise AssertionError("thread-pool hop")

    monkeypatch.setattr(not_modified, "run_in_threadpool", hop)
    monkeypatch.setattr(api, "current_etag", _never)


def test_a_fresh_map_answers_the_current_etag_with_no_hop_and_no_read(
    client: TestClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    _mapped(client)
    with monkeypatch.context() as m:
        _no_read(m)
        fast = fetch(client, setup.device, etag=etag)
    assert (fast.status_code, dict(fast.headers)) == (304, {"etag": etag, **_CACHE})


_CACHE = {"cache-control": "no-cache", "vary": "Accept-Encoding"}


def test_the_map_refuses_nothing_itself_every_bad_request_gets_the_routes_answer(
    client: TestClient, setup: Setup, clock: FixedClock, enrol_device: Callable[..., Device]
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    _mapped(client)
    d = setup.device
    stale = d.auth("GET", "/allowlist", iat=int(clock.now().timestamp()) - 3600)
    r = client.get(f"{API}/allowlist", headers={**stale, "If-None-Match": etag})
    assert r.status_code == 401 and "server_time" in r.json()
    other_line = d.auth("GET", "/trust-list")
    r = client.get(f"{API}/allowlist", headers={**other_line, "If-None-Match": etag})
    assert (r.status_code, r.json()["reason"]) == (401, "MALFORMED")
    # a token naming another terminal than its key's
    other = enrol_device(setup.school_id)
    forged = Device(other.terminal_id, d.school_id, d.key, clock)
    r = fetch(client, forged, etag=etag)
    assert (r.status_code, r.json()["reason"]) == (401, "TERMINAL_MISMATCH")
    # a key the map does not hold (never enrolled)
    stranger = Device(d.terminal_id, d.school_id, SigningKey.generate(), clock)
    r = fetch(client, stranger, etag=etag)
    assert (r.status_code, r.json()["reason"]) == (401, "UNKNOWN_KID")
    assert fetch(client, d, etag='"other"').status_code == 200


def _retire(uow_factory: Callable[[], UnitOfWork], terminal_id: int) -> None:
    with uow_factory() as uow:
        uow.session.execute(update(TerminalRow).where(TerminalRow.id == terminal_id).values(status="retired"))
        uow.commit()


def test_a_retired_terminal_is_refused_once_the_map_is_past_its_bound_or_read_again(
    client: TestClient, setup: Setup, uow_factory: Callable[[], UnitOfWork]
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    m, mono = _mapped(client)
    _retire(uow_factory, setup.device.terminal_id)
    mono.t += 0.4  # inside the bound the map may still answer: that is what the bound allows
    assert fetch(client, setup.device, etag=etag).status_code == 304
    mono.t += 0.6  # at the bound the map is not used: the read refuses it, with its reason
    r = fetch(client, setup.device, etag=etag)
    assert (r.status_code, r.json()["reason"]) == (401, "TERMINAL_RETIRED")
    m.refresh()  # read again (as the background read does): the map no longer holds the key
    assert setup.device.key.kid not in m.snapshot.terminals
    r = fetch(client, setup.device, etag=etag)
    assert (r.status_code, r.json()["reason"]) == (401, "TERMINAL_RETIRED")


def test_a_schools_change_gives_a_new_etag_within_the_bound(
    client: TestClient, setup: Setup, make_voucher: Callable[..., int], make_pupil: Callable[..., int]
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    m, mono = _mapped(client)
    make_voucher(make_pupil(setup.school_id), setup.school_id)  # the school's bundle changes
    assert fetch(client, setup.device, etag=etag).status_code == 304  # the map, inside its bound
    mono.t += 1.0
    changed = fetch(client, setup.device, etag=etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    m.refresh()  # the map's next read has the school's new counter: the new ETag is its 304
    new = changed.headers["ETag"]
    assert fetch(client, setup.device, etag=etag).status_code == 200
    assert fetch(client, setup.device, etag=new).status_code == 304


def test_a_read_takes_only_the_rows_changed_since_the_last_one(
    client: TestClient, setup: Setup, uow_factory: Callable[[], UnitOfWork]
) -> None:
    fetch(client, setup.device)
    m, _ = _mapped(client)

    def markers() -> tuple[int, int]:
        with uow_factory() as uow:
            t = uow.session.scalar(
                select(TerminalRow.change_seq).where(TerminalRow.id == setup.device.terminal_id)
            )
            v = uow.session.scalar(
                select(AllowlistVersionRow.change_seq).where(AllowlistVersionRow.school_id == setup.school_id)
            )
        assert t is not None and v is not None
        return t, v

    # What is checked is the markers against the read's horizon, not how many rows a read returned: on
    # PostgreSQL the horizon is the oldest transaction running anywhere on the server, so a neighbour's
    # open transaction may hold it back and have unchanged rows read again (harmless, and not this test's
    # to control).
    h_terminals, h_versions = m.snapshot.horizons
    t0, v0 = markers()
    with uow_factory() as uow:  # a health report: not a column the map holds
        uow.session.execute(
            update(TerminalRow).where(TerminalRow.id == setup.device.terminal_id).values(backlog=7)
        )
        uow.commit()
    assert markers() == (t0, v0)
    _retire(uow_factory, setup.device.terminal_id)
    with uow_factory() as uow:  # the school's bundle changes: its counter rises
        uow.session.execute(update(Voucher).where(Voucher.id == setup.voucher_id).values(status="suspended"))
        uow.commit()
    t1, v1 = markers()
    assert t1 >= h_terminals and v1 >= h_versions  # the next read takes both
    m.refresh()
    assert setup.device.key.kid not in m.snapshot.terminals
    with uow_factory() as uow:
        version = uow.session.scalar(
            select(AllowlistVersionRow.version).where(AllowlistVersionRow.school_id == setup.school_id)
        )
    assert m.snapshot.versions[setup.school_id] == version


def test_a_deleted_terminal_leaves_the_map(
    client: TestClient,
    setup: Setup,
    uow_factory: Callable[[], UnitOfWork],
    enrol_device: Callable[..., Device],
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    m, _ = _mapped(client)
    other = enrol_device(setup.school_id)
    with uow_factory() as uow:  # one row gone, another come: the count tells the read to start over
        uow.session.execute(delete(TerminalRow).where(TerminalRow.id == setup.device.terminal_id))
        uow.commit()
    m.refresh()
    assert set(m.snapshot.terminals) == {other.key.kid}
    r = fetch(client, setup.device, etag=etag)
    assert (r.status_code, r.json()["reason"]) == (401, "UNKNOWN_KID")


def test_the_map_off_reads_every_time(
    client: TestClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    m, _ = _mapped(client)
    m.max_age = 0  # SM_ALLOWLIST_MAP_SECONDS=0
    read: list[str] = []
    current_etag = not_modified.current_etag

    def counted(*a: object, **k: object) -> tuple[object, str]:
        read.append("read")
        return current_etag(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(not_modified, "current_etag", counted)
    assert [fetch(client, setup.device, etag=etag).status_code for _ in range(2)] == [304, 304]
    assert read == ["read", "read"]


def test_a_request_finding_no_fresh_map_has_it_read_in_the_background(
    client: TestClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = fetch(client, setup.device).headers["ETag"]
    m = _layer(client).map
    m.max_age = 60.0  # on, with the real clock
    assert fetch(client, setup.device, etag=etag).status_code == 304  # by the read; the map's read begins
    deadline = time.monotonic() + 10
    while setup.device.key.kid not in m.snapshot.terminals and time.monotonic() < deadline:
        time.sleep(0.01)
    with monkeypatch.context() as mp:
        _no_read(mp)
        assert fetch(client, setup.device, etag=etag).status_code == 304
