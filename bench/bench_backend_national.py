"""A national school day scaled down by SCALE, on PostgreSQL with monthly partitions.

Writes bench/results/national.json. The country: 7,000 schools, 3.5 M pupils, one lunch per pupil and
about 100 M meal events a month. Scaled by 1/SCALE: SCHOOLS schools of PUPILS pupils.

1. Lunch: every school's terminal uploads the day's meals (signed batches of BATCH, made beforehand as a
   terminal makes them offline) to uvicorn (`backend.app:create_app`, WORKERS processes) from CLIENTS
   threads; some terminals were offline and upload two days at once. Measured: events/s, batch p99,
   and the CPU seconds of the uvicorn processes and of PostgreSQL's backends for this database.
2. The floor in the same run: the project's `unnest … ON CONFLICT DO NOTHING` statement alone, on the
   same rows in batches of BATCH, from one connection into a second database with the same schema.
3. Month end: MONTH_EVENTS events (100 M / SCALE) generated into one month's partition, then every
   school's month-end figures (billing.meal_counts) timed.

The extrapolation (docs/scale.md) divides the country's peak by the per-process rates measured here.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from backend.billing import services as billing
from backend.clock import KZ_TZ
from backend.db import init_schema, make_engine, make_session_factory
from backend.ingest.partitions import maintain
from backend.unit_of_work import UnitOfWork
from tests.scale.seed import Terminal, meal_batches, post_batch, school_days, seed_schools

from .serving import DEFAULT_PG, Server, cpu_seconds, start_server

SCALE = 50
SCHOOLS = 7000 // SCALE  # 140
PUPILS = 3_500_000 // 7000  # 500 per school: 70,000 pupils
OFFLINE_EVERY = 10  # one terminal in ten uploads yesterday's lunch too
BATCH = 500
CLIENTS = 4
WORKERS = 2
MONTH_EVENTS = 100_000_000 // SCALE  # 2 M
PEAK_EVENTS_PER_S = 500  # the country's lunch peak (issue 15), bursts x4 as terminals return


def _pg_backends(dsn: str, db: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (db,))]


def _upload(base: str, work: list[tuple[Terminal, bytes]]) -> tuple[float, list[float], int]:
    todo = iter(work)
    lock = threading.Lock()
    latencies: list[float] = []
    accepted = [0]
    errors: list[str] = []

    def loop() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                t0 = time.perf_counter()
                r = post_batch(client, item[0], item[1])
                if r.status_code != 200:
                    errors.append(r.text[:200])
                    return
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    accepted[0] += r.json()["accepted"]

    threads = [threading.Thread(target=loop) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return time.perf_counter() - start, latencies, accepted[0]


def _floor(url: str, rows_sql: str) -> float:
    """Rows/s of the ingest statement alone: copy the served rows out, insert them back in batches."""
    dsn = url.replace("+psycopg", "")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(rows_sql).fetchall()
        conn.execute("TRUNCATE meal_events")
        conn.commit()
        cols = ["id", "terminal_id", "school_id", "voucher_id", "pupil_id", "plan", "slot", "served_at",
                "local_date", "method", "token_serial", "wall_trusted", "boot_id", "seq", "received_at",
                "status", "flags"]  # fmt: skip
        types = ["bytea", "int", "int", "int", "int", "int", "int", "timestamptz", "date", "int", "int",
                 "bool", "bytea", "bigint", "timestamptz", "varchar", "text"]  # fmt: skip
        sql = (
            f"INSERT INTO meal_events ({', '.join(cols)}) SELECT "
            + ", ".join(f"c{i}::json" if c == "flags" else f"c{i}" for i, c in enumerate(cols))
            + " FROM unnest("
            + ", ".join(f"%b::{t}[]" for t in types)
            + f") AS u({', '.join(f'c{i}' for i in range(len(cols)))}) ON CONFLICT DO NOTHING RETURNING id"
        )
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            chunk = rows[i : i + BATCH]
            arrays = [
                [r[k] if cols[k] != "flags" else json.dumps(r[k]) for r in chunk] for k in range(len(cols))
            ]
            conn.execute(sql, arrays, binary=True).fetchall()
            conn.commit()
        return len(rows) / (time.perf_counter() - start)


def _month_end(url: str, month: date) -> dict[str, Any]:
    dsn = url.replace("+psycopg", "")
    per_school = MONTH_EVENTS // SCHOOLS
    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO meal_events (id, terminal_id, school_id, voucher_id, pupil_id, plan, slot, served_at,"
            " local_date, method, token_serial, wall_trusted, boot_id, seq, received_at, status, flags)"
            " SELECT uuid_send(gen_random_uuid()), s, s, s * 100000 + mod(n, %s), s * 100000 + mod(n, %s), 1, 1,"
            " d + time '12:00', d, 1, 1, true, '\\x00000000000000000000000000000000'::bytea, n, now(), 'ok', '[]'"
            " FROM generate_series(1, %s) s, generate_series(1, %s) n,"
            " LATERAL (SELECT (%s::date + mod(n, 20))::date AS d) day",
            (PUPILS, PUPILS, SCHOOLS, per_school, month),
        )  # fmt: skip
        conn.commit()
        conn.execute("ANALYZE meal_events")
    generated = time.perf_counter() - t0
    factory = make_session_factory(make_engine(url))
    times = []
    with factory() as s:
        for school in range(1, SCHOOLS + 1):
            t1 = time.perf_counter()
            billing.meal_counts(s, [school], month)
            times.append(time.perf_counter() - t1)
    return {
        "events_generated": per_school * SCHOOLS,
        "generate_seconds": round(generated, 1),
        "month_end_all_schools_seconds": round(sum(times), 2),
        "month_end_per_school_ms": {
            "p50": round(statistics.median(times) * 1000, 1),
            "p99": round(statistics.quantiles(times, n=100)[98] * 1000, 1),
        },
    }


def main(results_dir: Path) -> None:
    pg = os.environ.get("SM_TEST_POSTGRES_URL", DEFAULT_PG)
    admin = pg.replace("+psycopg", "")
    name = f"sm_bench_national_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg.rsplit('/', 1)[0]}/{name}"
    server: Server | None = None
    try:
        init_schema(url)
        now = datetime.now(UTC)
        with UnitOfWork(make_session_factory(make_engine(url))) as uow:
            maintain(uow, now)
        terminals = seed_schools(url.replace("+psycopg", ""), SCHOOLS, PUPILS)
        days = school_days(2)
        work: list[tuple[Terminal, bytes]] = []
        for t in terminals:
            mine = days if t.terminal_id % OFFLINE_EVERY == 0 else days[-1:]
            work += [(t, body) for body, _ in meal_batches(t, mine, BATCH)]
        with tempfile.TemporaryDirectory() as keys:
            server = start_server({"SM_DATABASE_URL": url, "SM_KEY_DIR": keys}, workers=WORKERS)
            base = server.base
            api_pids = server.pids()
            pg_pids = _pg_backends(admin, name)
            api0, pg0 = cpu_seconds(api_pids), cpu_seconds(pg_pids)
            elapsed, latencies, accepted = _upload(base, work)
            pg_pids = sorted(set(pg_pids) | set(_pg_backends(admin, name)))
            api_cpu, pg_cpu = cpu_seconds(api_pids) - api0, cpu_seconds(pg_pids) - pg0
        floor = _floor(url, "SELECT * FROM meal_events")
        month = date(now.year, now.month, 1)
        month_end = _month_end(url, month)
        rate = accepted / elapsed
        per_api_process = accepted / max(api_cpu, 1e-9) / 1  # events per API CPU-second
        per_db_core = accepted / max(pg_cpu, 1e-9)
        peak = PEAK_EVENTS_PER_S * 4  # bursts as terminals come back online
        result = {
            "scale": f"1/{SCALE}",
            "schools": SCHOOLS,
            "pupils": SCHOOLS * PUPILS,
            "lunch": {
                "events": accepted,
                "seconds": round(elapsed, 2),
                "events_per_second": round(rate),
                "batch_latency_ms_p99": round(statistics.quantiles(latencies, n=100)[98] * 1000, 1),
                "uvicorn_workers": WORKERS,
                "api_cpu_seconds": round(api_cpu, 2),
                "postgres_cpu_seconds": round(pg_cpu, 2),
                "postgres_share_of_cpu": round(pg_cpu / max(api_cpu + pg_cpu, 1e-9), 2),
                "events_per_api_cpu_second": round(per_api_process),
                "events_per_postgres_cpu_second": round(per_db_core),
            },
            "floor_unnest_on_conflict_rows_per_second": round(floor),
            "ingest_share_of_floor": round(rate / floor, 2),
            "month_end": month_end,
            "country": {
                "peak_events_per_second_with_bursts": peak,
                "api_processes": max(1, -(-peak // max(round(per_api_process), 1))),
                "database_cores_for_ingest": round(peak / max(per_db_core, 1), 2),
                "month_end_all_schools_seconds_extrapolated": round(
                    month_end["month_end_all_schools_seconds"] * SCALE, 0
                ),
                "formula": "processes = ceil(peak / events per API CPU-second); DB cores = peak / events per "
                "PostgreSQL CPU-second; month end = per-school time x 7,000 (partition-local, so it does not "
                "grow with the number of months kept)",
            },
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "local_month": month.isoformat(),
            "tz": str(KZ_TZ),
        }
        (results_dir / "national.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
