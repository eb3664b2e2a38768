"""Token issuance through the real server: pupils' passes (one request per pupil-day) and parents'
single QR requests, against the signing-only floor measured in the same run.

Writes bench/results/issuance.json.

Set-up (not timed): a fresh PostgreSQL database migrated to head; the demo district seeded through
`demo.district.seed` with FAMILIES families of one grade-2 child each, every voucher activated, every
parent given a session and every child a pass installed, as the pages would. The server is uvicorn with
WORKERS workers (uvloop + httptools), `SM_PASS_SCHOOL_DAYS=1` so a pass request returns one school
day's short-window tokens. The load is CLIENTS kept-alive connections from this process (bench/serving),
on the same two cores as the server and PostgreSQL: the figures include that contention.

Series, each ROUNDS rounds over every family after a warm-up round:
- floor: an unknown path (routing and a JSON 404), what any request costs this server;
- pass: GET /pass/data.json with the pass's cookie (tokens counted from the answers);
- qr: POST /api/parent/v1/vouchers/{id}/qr with the parent's Bearer token.
Reported per series: requests/s, tokens/s, server CPU ms and PostgreSQL CPU ms per request, latency
percentiles. Floors: token signing alone in this process (one core), tokens/s (the code's own path:
claims, COSE, base45, signature), and the bare Ed25519 signature by OpenSSL and by libsodium.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign, crypto_sign_seed_keypair
from sqlalchemy import select

from backend.adapters.state_registry import InMemoryRegistry
from backend.auth.services import open_session, parent_principal
from backend.clock import FixedClock
from backend.config import Settings
from backend.context import build_context
from backend.db import init_schema
from backend.keys import KeyStore
from backend.passes import services as passes
from backend.roster.tables import Parent
from backend.unit_of_work import UnitOfWork
from backend.vouchers import services as vouchers
from demo.district import seed
from shared_crypto import KeyRole, VoucherToken, issue_qr_text

from .serving import (
    Answer,
    Connection,
    LoadResult,
    Request,
    Server,
    demo_families,
    fresh_database,
    run_load,
    start_server,
    summary,
    write_results,
)

FAMILIES = 64
CLIENTS = 32
ROUNDS = {"floor": 20, "pass": 6, "qr": 20}
WORKERS = 2
SIGN_N = 5000
GOAL_PASS_TOKENS_PER_S = 10_000
GOAL_QR_PER_S = 800


def _env(url: str, key_dir: Path) -> dict[str, str]:
    return {
        "SM_DATABASE_URL": url,
        "SM_KEY_DIR": str(key_dir),
        "SM_COOKIE_SECURE": "0",
        "SM_PASS_SCHOOL_DAYS": "1",
    }


def _setup(url: str, key_dir: Path) -> list[tuple[str, int, str]]:
    """Per family: the parent's session token, the voucher id, the installed pass's secret."""
    init_schema(url)
    settings = Settings.from_env({**os.environ, **_env(url, key_dir)})
    registry = InMemoryRegistry()
    ctx = build_context(settings, registry=registry)
    now = ctx.clock.now()
    seed(ctx.session_factory, settings, registry, now, families=demo_families(FAMILIES, "issue", "+7701333"))
    with ctx.session_factory() as s:
        parent_ids = list(
            s.scalars(select(Parent.id).where(Parent.phone.like("+7701333%")).order_by(Parent.id))
        )
    out = []
    for parent_id in parent_ids:
        with UnitOfWork(ctx.session_factory) as uow:
            principal = parent_principal(uow.session, parent_id)
            (child,) = vouchers.children_of(uow.session, principal)
            assert child.voucher_id is not None
            vouchers.activate(uow, principal, child.voucher_id, now)
        with UnitOfWork(ctx.session_factory) as uow:
            token = open_session(
                uow.session, kind="parent", subject_id=parent_id, now=now, ttl=timedelta(hours=8)
            )
            uow.commit()
        with UnitOfWork(ctx.session_factory) as uow:
            link = passes.share(uow, principal, child.voucher_id, now=now, ttl=timedelta(minutes=30))
        with UnitOfWork(ctx.session_factory) as uow:
            device = passes.install(uow, link.token, label="bench", now=now)
        out.append((token, child.voucher_id, device))
    ctx.engine.dispose()
    return out


def signing_floor(key_dir: Path) -> float:
    key = KeyStore(key_dir, FixedClock(datetime.now(UTC))).signing_key(KeyRole.VOUCHER_ISSUER)
    nbf = int(time.time())
    t0 = time.process_time()  # CPU, not wall: the machine's other load must not lower the floor
    for i in range(SIGN_N):
        issue_qr_text(key, VoucherToken(i + 1, 7, i % 60000, 1, nbf, nbf + 300))
    return SIGN_N / (time.process_time() - t0)


def raw_signing(key_dir: Path) -> dict[str, float]:
    """Ed25519 signatures alone (a token's 45-byte Sig_structure), per second of CPU on one core, by
    OpenSSL (pyca/cryptography) and by libsodium (PyNaCl): the same signatures, whichever the code uses."""
    seed = KeyStore(key_dir, FixedClock(datetime.now(UTC))).signing_key(KeyRole.VOUCHER_ISSUER).seed()
    openssl = Ed25519PrivateKey.from_private_bytes(seed).sign
    sodium_key = crypto_sign_seed_keypair(seed)[1]
    messages = [i.to_bytes(45, "big") for i in range(SIGN_N)]
    out: dict[str, float] = {}
    for name, sign in (("openssl", openssl), ("libsodium", lambda m: crypto_sign(m, sodium_key)[:64])):
        t0 = time.process_time()
        for m in messages:
            sign(m)
        out[name] = round(SIGN_N / (time.process_time() - t0))
    return out


def _tokens(_req: Request, ans: Answer) -> str | None:
    return None if json.loads(ans.body)["tokens"] else "no tokens"


def _figures(r: LoadResult, tokens_per_request: float = 0) -> dict[str, Any]:
    n = r.requests
    every = [ms for v in r.latencies_ms.values() for ms in v]
    out: dict[str, Any] = {
        "requests": n,
        "failures": len(r.failures),
        "first_failures": r.failures[:3],
        "requests_per_s": round(n / r.wall_s),
        "server_cpu_ms_per_request": round(r.server_cpu_s / n * 1000, 3),
        "postgres_cpu_ms_per_request": round(r.postgres_cpu_s / n * 1000, 3),
        "latency": summary(every),
    }
    if tokens_per_request:
        out["tokens_per_request"] = tokens_per_request
        out["tokens_per_s"] = round(n * tokens_per_request / r.wall_s)
        out["server_cpu_us_per_token"] = round(r.server_cpu_s / (n * tokens_per_request) * 1e6, 1)
    return out


async def _series(server: Server, url: str, families: list[tuple[str, int, str]]) -> dict[str, Any]:
    def spread(reqs: list[Request]) -> list[list[Request]]:
        return [reqs[i::CLIENTS] for i in range(CLIENTS)]

    floor = [Request("floor", "GET", "/no-such-path", expect=404) for _ in families]
    pass_reqs = [
        Request("pass", "GET", "/pass/data.json", {"Cookie": f"sm_device={device}"})
        for _, _, device in families
    ]
    qr = [
        Request("qr", "POST", f"/api/parent/v1/vouchers/{vid}/qr", {"Authorization": f"Bearer {token}"})
        for token, vid, _ in families
    ]
    out: dict[str, Any] = {}
    r = await run_load(server, spread(floor), rounds=ROUNDS["floor"], database_url=url)
    out["floor_404"] = _figures(r)
    r = await run_load(server, spread(pass_reqs), rounds=ROUNDS["pass"], check=_tokens, database_url=url)
    # every answer of the run is the same day's windows: count them from one answer
    sample = await _one_pass(server, pass_reqs[0])
    out["pass_per_pupil_day"] = _figures(r, sample)
    r = await run_load(server, spread(qr), rounds=ROUNDS["qr"], database_url=url)
    out["single_qr"] = _figures(r, 1)
    return out


async def _one_pass(server: Server, req: Request) -> int:
    conn = await Connection.open(server.host, server.port)
    try:
        return len(json.loads((await conn.send(req)).body)["tokens"])
    finally:
        await conn.close()


def main(results_dir: Path) -> None:
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "server": f"uvicorn, {WORKERS} workers, uvloop + httptools, PostgreSQL",
        "clients": CLIENTS,
        "families": FAMILIES,
    }
    db = fresh_database("sm_bench_issuance")
    if db is None:
        results["skipped"] = "PostgreSQL unreachable"
    else:
        url, drop = db
        try:
            with tempfile.TemporaryDirectory() as tmp:
                key_dir = Path(tmp) / "keys"
                families = _setup(url, key_dir)
                results["sign_only_tokens_per_s"] = round(signing_floor(key_dir))
                results["ed25519_only_signatures_per_s"] = raw_signing(key_dir)
                server = start_server(_env(url, key_dir), workers=WORKERS)
                try:
                    results.update(asyncio.run(_series(server, url, families)))
                finally:
                    server.stop()
            sign = results["sign_only_tokens_per_s"]
            p, q = results["pass_per_pupil_day"], results["single_qr"]
            results["pass_tokens_to_signing_floor"] = round(p["tokens_per_s"] / sign, 3)
            results["qr_to_signing_floor"] = round(q["tokens_per_s"] / sign, 4)
            results["goals"] = {
                "pass_tokens_per_s": GOAL_PASS_TOKENS_PER_S,
                "qr_requests_per_s": GOAL_QR_PER_S,
                "pass_met": p["tokens_per_s"] >= GOAL_PASS_TOKENS_PER_S,
                "qr_met": q["requests_per_s"] >= GOAL_QR_PER_S,
            }
            results["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            drop()
    write_results(results_dir, "issuance", results)


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
