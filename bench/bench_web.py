"""Web figures: page response times under 50 concurrent signed-in parents through the real server
(uvicorn in its own process, on PostgreSQL), and the time to issue one pupil's pass its week of tokens.

Writes bench/results/web.json.

Set-up (not timed): a fresh PostgreSQL database migrated to head; the demo district seeded through
`demo.district.seed` with PARENTS families of one grade-2 child each (vouchers formed without SMS),
each voucher activated and each parent given a session, as signing in would. The server is
`uvicorn --factory backend.app:create_app` with WORKERS workers (uvloop + httptools); the load is one
kept-alive connection per parent from bench/serving's client in this process (the same two cores as the
server: figures include that contention), which also reads the server's and PostgreSQL's CPU.

Pages: each parent opens, in turn, the pages of the journey that only read (my children, the child,
meals, notifications, complaints, menu, the passes list) ROUNDS times after WARMUP rounds; every
response must be 200 (failures are counted).
Reported: p50, p95, p99 and max per page and overall, and requests per second.

Pass tokens: one installed pass refreshed REFRESH_N times: the service (`passes.refresh`, one
transaction: lock, calendar, one signature per window, commit) and the HTTP request the pass makes
(GET /pass/data.json through the server). The week is PASS_SCHOOL_DAYS school days × two slots of
90 minutes in 5-minute windows: 180 tokens.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from backend.adapters.state_registry import InMemoryRegistry
from backend.auth.services import open_session, parent_principal
from backend.clock import SystemClock
from backend.config import Settings
from backend.context import build_context
from backend.db import init_schema
from backend.passes import services as passes
from backend.roster.tables import Parent
from backend.unit_of_work import UnitOfWork
from backend.vouchers import services as vouchers
from demo.district import seed

from .serving import (
    Request,
    Server,
    demo_families,
    fresh_database,
    run_load,
    start_server,
    summary,
    write_results,
)

PARENTS = 50
ROUNDS = 10
WARMUP = 1  # rounds first, not counted: connection pools fill, templates compile
WORKERS = 2
REFRESH_N = 30
PASS_SCHOOL_DAYS = 5
SESSION_TTL = timedelta(hours=8)


def _env(url: str, key_dir: Path) -> dict[str, str]:
    return {**os.environ, "SM_DATABASE_URL": url, "SM_KEY_DIR": str(key_dir), "SM_COOKIE_SECURE": "0"}


def _setup(url: str, key_dir: Path) -> tuple[list[dict[str, Any]], str]:
    """Seeds the district; returns each parent's session and pages, and one installed pass's secret."""
    init_schema(url)
    settings = Settings.from_env(_env(url, key_dir))
    registry = InMemoryRegistry()
    ctx = build_context(settings, registry=registry)
    now = ctx.clock.now()
    seed(ctx.session_factory, settings, registry, now, families=demo_families(PARENTS))
    parents: list[dict[str, Any]] = []
    device = ""
    with ctx.session_factory() as s:
        parent_ids = list(
            s.scalars(select(Parent.id).where(Parent.phone.like("+7701222%")).order_by(Parent.id))
        )
    for parent_id in parent_ids:
        with UnitOfWork(ctx.session_factory) as uow:
            principal = parent_principal(uow.session, parent_id)
            (child,) = vouchers.children_of(uow.session, principal)
            assert child.voucher_id is not None
            vouchers.activate(uow, principal, child.voucher_id, now)
        with UnitOfWork(ctx.session_factory) as uow:
            token = open_session(uow.session, kind="parent", subject_id=parent_id, now=now, ttl=SESSION_TTL)
            uow.commit()
        pages = [
            "/children",
            f"/child/{child.pupil_id}",
            f"/vouchers/{child.voucher_id}/meals",
            "/notifications",
            "/complaints",
            f"/child/{child.pupil_id}/menu",
            f"/vouchers/{child.voucher_id}/passes",
        ]
        parents.append({"token": token, "pages": pages})
        if not device:
            with UnitOfWork(ctx.session_factory) as uow:
                link = passes.share(uow, principal, child.voucher_id, now=now, ttl=timedelta(minutes=30))
            with UnitOfWork(ctx.session_factory) as uow:
                device = passes.install(uow, link.token, label="bench", now=now)
    ctx.engine.dispose()
    return parents, device


def bench_refresh_service(url: str, key_dir: Path, device: str) -> dict[str, Any]:
    settings = Settings.from_env(_env(url, key_dir))
    ctx = build_context(settings, clock=SystemClock())
    web = settings.web
    times, tokens = [], 0
    for _ in range(REFRESH_N):
        t0 = time.perf_counter()
        with UnitOfWork(ctx.session_factory) as uow:
            data = passes.refresh(uow, ctx.keys, device, settings=web, now=ctx.clock.now())
        times.append((time.perf_counter() - t0) * 1000)
        tokens = len(data.tokens)
    ctx.engine.dispose()
    return {"tokens": tokens, **summary(times), "per_token_ms": round(statistics.median(times) / tokens, 3)}


def _load(server: Server, url: str, parents: list[dict[str, Any]]) -> dict[str, Any]:
    clients = [
        [
            Request(
                _page_name(path),
                "GET",
                path,
                {"Cookie": f"sm_session={p['token']}", "Accept-Language": "kk", "Accept-Encoding": "gzip"},
            )
            for path in p["pages"]
        ]
        for p in parents
    ]
    r = asyncio.run(run_load(server, clients, rounds=ROUNDS, warmup=WARMUP, database_url=url))
    every = [ms for v in r.latencies_ms.values() for ms in v]
    return {
        "concurrent_parents": len(parents),
        "requests": r.requests,
        "failures": len(r.failures),
        "requests_per_s": round(r.requests / r.wall_s, 1),
        "server_cpu_ms_per_request": round(r.server_cpu_s / r.requests * 1000, 2),
        "postgres_cpu_ms_per_request": round(r.postgres_cpu_s / r.requests * 1000, 2),
        "all": summary(every),
        "pages": {name: summary(v) for name, v in sorted(r.latencies_ms.items())},
    }


def _page_name(path: str) -> str:
    return path.split("/")[1] + ("/" + path.rsplit("/", 1)[1] if path.count("/") > 2 else "")


async def _pass_http(base: str, device: str) -> dict[str, Any]:
    times, size = [], 0
    async with httpx.AsyncClient(
        base_url=base, cookies={"sm_device": device}, headers={"Accept-Encoding": "gzip"}, timeout=60
    ) as client:
        for _ in range(REFRESH_N):
            t0 = time.perf_counter()
            r = await client.get("/pass/data.json")
            times.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            size, raw = r.num_bytes_downloaded, len(r.content)
            tokens = len(r.json()["tokens"])
    return {"tokens": tokens, "body_bytes": raw, "gzip_bytes": size, **summary(times)}


def main(results_dir: Path) -> None:
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "server": f"uvicorn, {WORKERS} workers, PostgreSQL",
    }
    db = fresh_database("sm_bench_web")
    if db is None:
        results["skipped"] = "PostgreSQL unreachable"
    else:
        url, drop = db
        try:
            with tempfile.TemporaryDirectory() as tmp:
                key_dir = Path(tmp) / "keys"
                parents, device = _setup(url, key_dir)
                results["pass_refresh_service"] = bench_refresh_service(url, key_dir, device)
                server = start_server(_env(url, key_dir), workers=WORKERS)
                try:
                    results["pages_under_load"] = _load(server, url, parents)
                    results["pass_refresh_http"] = asyncio.run(_pass_http(server.base, device))
                finally:
                    server.stop()
        finally:
            drop()
    write_results(results_dir, "web", results)


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
