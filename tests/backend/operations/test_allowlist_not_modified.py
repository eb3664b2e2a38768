"""The allowlist's 304 answered ahead of FastAPI (backend/fleet/not_modified.py).

Only a valid token with the current ETag is answered there, with the route's own headers; everything
else reaches the route and gets the route's answer, refusals with their reason codes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.clock import FixedClock
from backend.fleet import api, not_modified
from backend.fleet.tables import TerminalRow
from backend.unit_of_work import UnitOfWork

from .conftest import API, Setup
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
