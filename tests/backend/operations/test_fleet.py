from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import FixedClock
from backend.context import AppContext
from shared_crypto import SigningKey, TrustStore, verify_time, verify_trust_list

from .conftest import API, Device, Setup, json_of

AdminToken = Callable[..., tuple[int, dict[str, str]]]


def _code(client: TestClient, headers: dict[str, str], school_id: int, canteen_id: int = 2) -> str:
    r = client.post(
        "/api/admin/v1/terminals/enrolment-codes",
        json={"school_id": school_id, "canteen_id": canteen_id},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def _enrol(client: TestClient, code: str, key: SigningKey) -> httpx.Response:
    r: httpx.Response = client.post(
        f"{API}/enrol",
        json={"code": code, "public_key": key.public.raw.hex(), "hostname": "pi", "software_version": "0.1"},
    )
    return r


def test_enrolment_binds_school_and_canteen_once(
    client: TestClient, ctx: AppContext, make_school: Callable[..., int], admin_token: AdminToken
) -> None:
    school = make_school()
    _, tech = admin_token(Role.TECHNICIAN, (school,))
    r = client.post(
        "/api/admin/v1/terminals/enrolment-codes", json={"school_id": school, "canteen_id": 2}, headers=tech
    )
    body = r.json()
    assert body["root_fingerprint"] == ctx.keys.root_public().kid.hex()
    key = SigningKey.generate()
    r = _enrol(client, body["code"].lower().replace("-", ""), key)  # typed loosely by a technician
    got = json_of(r)
    assert (got["school_id"], got["canteen_id"]) == (school, 2)
    assert got["root_public_key"] == ctx.keys.root_public().raw.hex()
    again = _enrol(client, body["code"], SigningKey.generate())
    assert (again.status_code, again.json()["reason"]) == (409, "CODE_USED")


def test_code_expires_after_ten_minutes(
    client: TestClient, clock: FixedClock, make_school: Callable[..., int], admin_token: AdminToken
) -> None:
    school = make_school()
    _, tech = admin_token(Role.TECHNICIAN, (school,))
    code = _code(client, tech, school)
    clock.advance(timedelta(minutes=10))
    r = _enrol(client, code, SigningKey.generate())
    assert (r.status_code, r.json()["reason"]) == (410, "CODE_EXPIRED")
    r = _enrol(client, "AAAA-BBBB-CCCC", SigningKey.generate())
    assert (r.status_code, r.json()["reason"]) == (404, "CODE_UNKNOWN")


def test_bad_public_key_and_scope(
    client: TestClient, make_school: Callable[..., int], admin_token: AdminToken
) -> None:
    school, other = make_school(), make_school()
    _, tech = admin_token(Role.TECHNICIAN, (school,))
    code = _code(client, tech, school)
    r = client.post(
        f"{API}/enrol", json={"code": code, "public_key": "zz", "hostname": "", "software_version": "1"}
    )
    # the description says 64 hex digits: a malformed key is refused before the use case
    assert (r.status_code, r.json()["reason"]) == (422, "INVALID_REQUEST")
    r = client.post(
        "/api/admin/v1/terminals/enrolment-codes", json={"school_id": other, "canteen_id": 1}, headers=tech
    )
    assert r.status_code == 404
    _, supplier = admin_token(Role.SUPPLIER, (school,))
    r = client.post(
        "/api/admin/v1/terminals/enrolment-codes",
        json={"school_id": school, "canteen_id": 1},
        headers=supplier,
    )
    assert r.status_code == 403


def test_device_auth_failures_answer_401_with_server_time(
    client: TestClient, clock: FixedClock, school_setup: Callable[..., Setup]
) -> None:
    d = school_setup().device
    now = int(clock.now().timestamp())
    r = client.get(f"{API}/allowlist")
    assert r.status_code == 401 and r.json()["reason"] == "NO_DEVICE_AUTH" and r.json()["server_time"] == now
    r = client.get(f"{API}/allowlist", headers=d.auth("GET", "/allowlist", iat=now - 3600))
    assert (r.status_code, r.json()["reason"], r.json()["server_time"]) == (401, "EXPIRED", now)
    r = client.get(f"{API}/allowlist", headers=d.auth("GET", "/allowlist", iat=now + 3600))
    assert r.json()["reason"] == "NOT_YET_VALID"
    r = client.get(f"{API}/allowlist", headers=d.auth("GET", "/trust-list"))  # made for another path
    assert (r.status_code, r.json()["reason"]) == (401, "MALFORMED")
    stranger = Device(d.terminal_id, d.school_id, SigningKey.generate(), clock)
    r = client.get(f"{API}/allowlist", headers=stranger.auth("GET", "/allowlist"))
    assert r.json()["reason"] == "UNKNOWN_KID"
    impostor = Device(d.terminal_id + 1000, d.school_id, d.key, clock)  # right key, other terminal id
    r = client.get(f"{API}/allowlist", headers=impostor.auth("GET", "/allowlist"))
    assert r.json()["reason"] == "TERMINAL_MISMATCH"
    assert client.get(f"{API}/allowlist", headers=d.auth("GET", "/allowlist")).status_code == 200


def test_retire_refuses_key_and_move_re_enrols(
    client: TestClient,
    school_setup: Callable[..., Setup],
    make_school: Callable[..., int],
    admin_token: AdminToken,
) -> None:
    s = school_setup()
    d = s.device
    target = make_school(district="Almaly")
    _, tech = admin_token(Role.TECHNICIAN, (s.school_id, target))
    r = client.post(
        f"/api/admin/v1/terminals/{d.terminal_id}/move",
        json={"school_id": target, "canteen_id": 1},
        headers=tech,
    )
    assert r.status_code == 200, r.text
    r2 = client.get(f"{API}/allowlist", headers=d.auth("GET", "/allowlist"))
    assert (r2.status_code, r2.json()["reason"]) == (401, "TERMINAL_RETIRED")
    moved = json_of(_enrol(client, r.json()["code"], d.key))
    assert moved["school_id"] == target and moved["terminal_id"] != d.terminal_id
    d2 = Device(moved["terminal_id"], target, d.key, d.clock)
    assert client.get(f"{API}/allowlist", headers=d2.auth("GET", "/allowlist")).status_code == 200
    # an active key cannot be enrolled a second time
    r = _enrol(client, _code(client, tech, target), d.key)
    assert (r.status_code, r.json()["reason"]) == (409, "KEY_IN_USE")
    r = client.post(f"/api/admin/v1/terminals/{d.terminal_id}/retire", headers=tech)
    assert (r.status_code, r.json()["reason"]) == (409, "TERMINAL_RETIRED")


def test_signed_time_answers_the_nonce(
    client: TestClient, ctx: AppContext, school_setup: Callable[..., Setup]
) -> None:
    d = school_setup().device
    nonce = os.urandom(16)
    r = client.post(
        f"{API}/time",
        content=nonce,
        headers={**d.auth("POST", "/time"), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/cose"
    tl = verify_trust_list(ctx.keys.trust_list_cose(), ctx.keys.root_public(), now=None, leeway=0)
    assert verify_time(r.content, TrustStore(tl.keys), nonce=nonce, leeway=0) == int(
        ctx.clock.now().timestamp()
    )
    r = client.post(f"{API}/time", content=b"short", headers=d.auth("POST", "/time"))
    assert (r.status_code, r.json()["reason"]) == (400, "BAD_NONCE")


def test_trust_list_conditional(
    client: TestClient, ctx: AppContext, school_setup: Callable[..., Setup]
) -> None:
    d = school_setup().device
    r = client.get(f"{API}/trust-list", headers=d.auth("GET", "/trust-list"))
    assert r.status_code == 200
    assert verify_trust_list(r.content, ctx.keys.root_public(), now=None, leeway=0).keys
    r2 = client.get(
        f"{API}/trust-list", headers={**d.auth("GET", "/trust-list"), "If-None-Match": r.headers["ETag"]}
    )
    assert r2.status_code == 304 and r2.content == b""


def test_health_feeds_the_fleet_view(
    client: TestClient, clock: FixedClock, school_setup: Callable[..., Setup], admin_token: AdminToken
) -> None:
    s = school_setup()
    d = s.device
    report = {
        "last_sync": int(clock.now().timestamp()) - 60,
        "backlog": 12,
        "clock_offset_s": -1.5,
        "software_version": "0.2.0",
        "faults": ["camera: no frames"],
        "disk_free_bytes": 10**9,
    }
    r = client.post(f"{API}/health", json=report, headers=d.auth("POST", "/health"))
    assert r.json() == {"ok": True}
    _, head = admin_token(Role.SCHOOL_HEAD, (s.school_id,))
    view = client.get(f"/api/admin/v1/schools/{s.school_id}/terminals", headers=head).json()
    [t] = view["terminals"]
    assert (t["backlog"], t["clock_offset_s"], t["software_version"], t["faults"]) == (
        12,
        -1.5,
        "0.2.0",
        ["camera: no frames"],
    )
    assert t["last_sync"].startswith("2026-09-14T02:59")
    bad = client.post(f"{API}/health", json={**report, "backlog": -1}, headers=d.auth("POST", "/health"))
    assert (bad.status_code, bad.json()["reason"]) == (400, "BAD_HEALTH")
    _, stranger = admin_token(Role.SCHOOL_HEAD, ())
    assert client.get(f"/api/admin/v1/schools/{s.school_id}/terminals", headers=stranger).status_code == 404
