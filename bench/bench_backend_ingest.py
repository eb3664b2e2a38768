"""Meal events ingested per second into PostgreSQL through the real HTTP endpoint, with signed batches.

Writes bench/results/backend_ingest.json. A fresh database gets SCHOOLS schools with a lunch slot,
PUPILS_PER_SCHOOL active vouchers each and one enrolled terminal per school. The terminals' batches
(BATCH events, one meal per voucher per school day, signed with each terminal's own key) are made
before the clock starts, as a terminal makes them offline. uvicorn serves `backend.app:create_app` in
its own processes on a free port; CLIENTS threads with one httpx client each post the batches with a
fresh device token per request. Measured: wall time from the first request to the last answer.
A replay of every batch afterwards must answer only duplicates (idempotency under load).
Goal: at least 5,000 events/s on a 2-core machine.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import queue
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from backend.db import init_schema
from shared_crypto import DeviceAuth, MealBatch, MealEvent, Method, SigningKey, sign_batch, sign_device_auth

from .serving import DEFAULT_PG, Server, start_server

SCHOOLS = 8
PUPILS_PER_SCHOOL = 600
SCHOOL_DAYS = 13  # 8 × 600 × 13 = 62,400 events
BATCH = 500
CLIENTS = 4
WORKERS = 2
GOAL = 5000.0
PATH = "/api/terminal/v1/meal-batches"


def _school_days(today: date, n: int) -> list[date]:
    days: list[date] = []
    d = today - timedelta(days=1)
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    return sorted(days)


def _load(dsn: str, keys: list[SigningKey], enrolled: datetime) -> dict[int, list[int]]:
    """Schools, slots, pupils, vouchers and terminals; returns school → voucher ids."""
    vouchers: dict[int, list[int]] = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for s in range(1, SCHOOLS + 1):
            cur.execute(
                "INSERT INTO schools (id, bin, name, region, district) VALUES (%s, %s, %s, 'Almaty', 'Bench')",
                (s, f"{s:012d}", f"School {s}"),
            )
            cur.execute(
                "INSERT INTO meal_slots (school_id, slot, start_minute, end_minute) VALUES (%s, 1, 660, 780)",
                (s,),
            )
            key = keys[s - 1]
            cur.execute(
                "INSERT INTO terminals (id, school_id, canteen_id, public_key, kid, hostname, status, software_version,"
                " backlog, faults, enrolled_at) VALUES (%s, %s, 1, %s, %s, 'bench', 'active', '1', 0, '[]', %s)",
                (s, s, key.public.raw, key.kid, enrolled),
            )
            base = s * 100_000
            with cur.copy(
                "COPY pupils (id, iin, full_name, grade, class_name, school_id, pseudonym, display) FROM STDIN"
            ) as copy:
                for p in range(base, base + PUPILS_PER_SCHOOL):
                    copy.write_row((p, f"{p:012d}", f"Pupil {p}", 3, "3A", s, p.to_bytes(16, "big"), "P. 3A"))
            with cur.copy(
                "COPY vouchers (id, pupil_id, school_id, school_year, plan, status, valid_until, min_serial,"
                " next_serial, updated_at) FROM STDIN"
            ) as copy:
                for p in range(base, base + PUPILS_PER_SCHOOL):
                    copy.write_row((p, p, s, 2026, 1, "active", date(2027, 5, 31), 0, 1, enrolled))
            vouchers[s] = list(range(base, base + PUPILS_PER_SCHOOL))
        conn.commit()
    return vouchers


def _batches(
    keys: list[SigningKey], vouchers: dict[int, list[int]], days: list[date]
) -> list[tuple[int, bytes, int]]:
    """(terminal id, signed batch, events) — lunch at 12:00–12:50 local time, one meal per voucher and day."""
    per_terminal: list[list[tuple[int, bytes, int]]] = []
    for s, vids in vouchers.items():
        mine: list[tuple[int, bytes, int]] = []
        boot = os.urandom(16)
        events: list[MealEvent] = []
        seq = 0
        for d in days:
            noon = datetime(d.year, d.month, d.day, 7, 0, tzinfo=UTC)  # 12:00 in Almaty
            for i, v in enumerate(vids):
                seq += 1
                wall = int((noon + timedelta(seconds=5 * i)).timestamp() * 1000)
                events.append(
                    MealEvent(os.urandom(16), seq, boot, wall - 1_000_000, wall, True, True, "SERVED", Method.QR, v, 1, 1,
                              d.year * 10000 + d.month * 100 + d.day)
                )  # fmt: skip
        for i in range(0, len(events), BATCH):
            chunk = tuple(events[i : i + BATCH])
            mine.append((s, sign_batch(keys[s - 1], MealBatch(s, int(time.time()), chunk)), len(chunk)))
        per_terminal.append(mine)
    # interleave the terminals, as canteens upload side by side
    return [b for group in itertools.zip_longest(*per_terminal) for b in group if b is not None]


def _post(client: httpx.Client, keys: list[SigningKey], terminal: int, body: bytes) -> dict[str, int]:
    token = sign_device_auth(keys[terminal - 1], DeviceAuth(terminal, f"POST {PATH}", int(time.time())))
    r = client.post(
        PATH, content=body, headers={"X-SW-Device-Auth": token, "Content-Type": "application/cose"}
    )
    r.raise_for_status()
    result: dict[str, int] = r.json()
    return result


def _run(
    base_url: str, keys: list[SigningKey], batches: list[tuple[int, bytes, int]]
) -> tuple[float, list[float], dict[str, int]]:
    work: queue.Queue[tuple[int, bytes, int]] = queue.Queue()
    for b in batches:
        work.put(b)
    latencies: list[float] = []
    totals = {"accepted": 0, "duplicates": 0, "flagged": 0}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client_loop() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            while True:
                try:
                    terminal, body, _ = work.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter()
                try:
                    res = _post(client, keys, terminal, body)
                except BaseException as e:  # reported after the run
                    errors.append(e)
                    return
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    for k in totals:
                        totals[k] += res[k]

    threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"upload failed: {errors[0]!r}")
    return elapsed, latencies, totals


def _allowlist_ms(base_url: str, keys: list[SigningKey]) -> dict[str, float]:
    """Median time of one terminal's allowlist request: first (signs), unchanged (stored bytes), 304."""
    path = "/api/terminal/v1/allowlist"

    def get(client: httpx.Client, etag: str | None = None) -> httpx.Response:
        token = sign_device_auth(keys[0], DeviceAuth(1, f"GET {path}", int(time.time())))
        headers = {"X-SW-Device-Auth": token, "Accept-Encoding": "gzip"}
        if etag:
            headers["If-None-Match"] = etag
        r = client.get(path, headers=headers)
        if r.is_error:
            r.raise_for_status()
        return r

    with httpx.Client(base_url=base_url, timeout=30) as client:
        t0 = time.perf_counter()
        etag = get(client).headers["ETag"]
        first = time.perf_counter() - t0
        full, cond = [], []
        for _ in range(20):
            t0 = time.perf_counter()
            get(client)
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert get(client, etag).status_code == 304
            cond.append(time.perf_counter() - t0)
    return {
        "entries": PUPILS_PER_SCHOOL,
        "first_signed_ms": round(first * 1000, 1),
        "unchanged_200_median_ms": round(statistics.median(full) * 1000, 1),
        "not_modified_304_median_ms": round(statistics.median(cond) * 1000, 1),
    }


def main(results_dir: Path) -> None:
    pg = os.environ.get("SM_TEST_POSTGRES_URL", DEFAULT_PG)
    admin_dsn = pg.replace("+psycopg", "")
    name = f"sm_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg.rsplit('/', 1)[0]}/{name}"
    server: Server | None = None
    try:
        init_schema(url)
        keys = [SigningKey.generate() for _ in range(SCHOOLS)]
        now = datetime.now(UTC)
        vouchers = _load(url.replace("+psycopg", ""), keys, now - timedelta(days=60))
        t0 = time.perf_counter()
        batches = _batches(keys, vouchers, _school_days(now.date(), SCHOOL_DAYS))
        sign_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as keydir:
            server = start_server({"SM_DATABASE_URL": url, "SM_KEY_DIR": keydir}, workers=WORKERS)
            base = server.base
            load_before = os.getloadavg()
            elapsed, latencies, totals = _run(base, keys, batches)
            _, _, replay = _run(base, keys, batches[: len(batches) // 4])
            allowlist = _allowlist_ms(base, keys)
        events = sum(n for _, _, n in batches)
        rate = events / elapsed
        q = statistics.quantiles(latencies, n=100)
        result = {
            "events": events,
            "batches": len(batches),
            "batch_size": BATCH,
            "clients": CLIENTS,
            "uvicorn_workers": WORKERS,
            "schools": SCHOOLS,
            "seconds": round(elapsed, 3),
            "events_per_second": round(rate),
            "goal_events_per_second": GOAL,
            "meets_goal": rate >= GOAL,
            "batch_latency_ms": {"p50": round(q[49] * 1000, 1), "p99": round(q[98] * 1000, 1)},
            "answers": totals,
            "replay_of_a_quarter": replay,
            "replay_all_duplicates": replay["accepted"] == 0 and replay["duplicates"] > 0,
            "client_signing_seconds_not_measured": round(sign_s, 2),
            "allowlist_request": allowlist,
            # other work on the machine shares its 2 cores with server, database and clients
            "load_average_1_5_15_before": [round(x, 2) for x in load_before],
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
        (results_dir / "backend_ingest.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
