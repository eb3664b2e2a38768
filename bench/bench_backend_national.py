"""A national school day scaled down by SCALE, on the test harness's own PostgreSQL primary, streaming
replica and PgBouncer (tests/scale/cluster.py), with monthly partitions.

Writes bench/results/national.json. The country: 7,000 schools, 3.5 M pupils, one lunch per pupil and
about 100 M meal events a month. Scaled by 1/SCALE: SCHOOLS schools of PUPILS pupils, each pupil with a
parent (a mother with a phone) and an installed pass. uvicorn serves `backend.app:create_app` in
WORKERS processes through PgBouncer in transaction pooling (prepared statements off), reads that allow
it on the replica; CLIENTS client threads on the same 2 cores. Each phase reports its requests per
second, per API CPU-second (what one process does), p99 latency and the CPU seconds of the API
processes, PostgreSQL (primary and replica), PgBouncer and the bench process:

1. Morning: pass refreshes, one request per pupil-day (`/pass/data.json`), for one pupil in
   PASS_SAMPLE_EVERY.
2. Breakfast, then lunch: every school's terminal uploads the meals (signed batches of BATCH, made
   beforehand as a terminal makes them offline); for lunch one terminal in OFFLINE_EVERY was offline
   and uploads two days at once. A terminal always reaches the same API process (sticky routing), so at
   breakfast every process meets its schools for the first time and at lunch it holds their facts.
3. Notices: the worker's notice pass (`deliver_notices`, the bench process as the one worker),
   NOTICE_PASSES times.
4. Parents read their child's meal history (one parent in HISTORY_SAMPLE_EVERY), from the replica.
5. The daily report of the last school day, per school, as the district's admin.
6. The floor in the same run: the project's `unnest … ON CONFLICT DO NOTHING` statement alone, on the
   lunch's rows in batches of BATCH, from one connection straight to the primary.
7. Month end: MONTH_EVENTS events (100 M / SCALE) generated into one month's partition, then every
   school's month-end figures (billing.meal_counts) timed.

The extrapolation (docs/scale.md) divides the country's rates by the per-process rates measured here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from backend.auth.model import Role
from backend.auth.services import open_session
from backend.auth.testing import make_admin
from backend.billing import services as billing
from backend.clock import KZ_TZ
from backend.config import Settings
from backend.context import build_context
from backend.db import init_schema, make_engine, make_session_factory
from backend.ingest.partitions import maintain
from backend.unit_of_work import UnitOfWork
from backend.web.notice_worker import deliver_notices
from tests.scale.cluster import Cluster, start_cluster
from tests.scale.seed import Terminal, meal_batches, school_days, seed_schools

from .serving import Server, process_tree, start_server
from .uploads import Run, drive, post_batches

SCALE = 50
SCHOOLS = 7000 // SCALE  # 140
PUPILS = 3_500_000 // 7000  # 500 per school: 70,000 pupils
OFFLINE_EVERY = 10  # one terminal in ten uploads yesterday's lunch too
PASS_SAMPLE_EVERY = 50  # pass refreshes for one pupil in fifty (1,400 requests)
HISTORY_SAMPLE_EVERY = 25  # one parent in 25 reads the history (2,800 requests)
BATCH = 500
CLIENTS = 8
WORKERS = 4
MONTH_EVENTS = 100_000_000 // SCALE  # 2 M
NOTICE_PASSES = 40  # of the worker's notice pass: 20,000 of the day's 154,000 notices
TICK = os.sysconf("SC_CLK_TCK")

# The country's rates the extrapolation is for (issue 15), with the assumptions that make them
COUNTRY_PUPILS = 3_500_000
LUNCH_PEAK = 500 * 4  # events/s: a lunch peak near 500, bursts x4 as terminals come back online
PASS_PEAK = COUNTRY_PUPILS / (2 * 3600) * 2  # one refresh per pupil in a 2-hour morning, peak x2
HISTORY_PEAK = COUNTRY_PUPILS / (12 * 3600) * 3  # each parent reads once a day over 12 hours, peak x3
NOTICE_PEAK = LUNCH_PEAK  # every meal a notice, delivered as it comes


def _cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / TICK
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


class Meter:
    """CPU seconds of each process group between two snapshots (a process started in between counts
    from zero; one that ended in between is lost, which pooled connections make rare)."""

    def __init__(self, cluster: Cluster, api_pid: int) -> None:
        self._groups: dict[str, Callable[[], list[int]]] = {
            "api": lambda: process_tree(api_pid),
            "postgres": lambda: [
                *process_tree(_postmaster(cluster.primary.data)),
                *process_tree(_postmaster(cluster.replica.data)),
            ],
            "pgbouncer": lambda: [int((cluster.root / "pgbouncer.pid").read_text().strip())],
        }

    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {name: _cpu(pids()) for name, pids in self._groups.items()}
        snap["bench"] = time.process_time()
        return snap

    @staticmethod
    def delta(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
        out = {
            name: sum(v - a[name].get(pid, 0.0) for pid, v in b[name].items())
            for name in ("api", "postgres", "pgbouncer")
        }
        out["bench"] = b["bench"] - a["bench"]
        return out


def _postmaster(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def _phase(meter: Meter, work: Callable[[], Run], *, worker_in_bench: bool = False) -> dict[str, Any]:
    """Runs one phase and reports its throughput, p99 and CPU split. The bench process's own CPU is the
    load client's, except in a phase where it is the worker (then it counts as the serving side)."""
    a = meter.snapshot()
    run = work()
    cpu = meter.delta(a, meter.snapshot())
    served = cpu["api"] + (cpu["bench"] if worker_in_bench else 0.0)
    total = served + cpu["postgres"] + cpu["pgbouncer"]
    n = len(run.latencies)
    return {
        "requests": n,
        **run.totals,
        "seconds": round(run.seconds, 2),
        "per_second": round(n / run.seconds, 1),
        "latency_ms": {"p50": run.p(50), "p99": run.p(99)},
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "postgres_share_of_cpu": round(cpu["postgres"] / max(total, 1e-9), 2),
        "per_process_cpu_second": round(n / max(served, 1e-9), 1),
        "per_postgres_cpu_second": round(n / max(cpu["postgres"], 1e-9), 1),
    }


def _upload_phase(
    meter: Meter, base: str, batches: list[tuple[Terminal, bytes]], pool: list[httpx.Client]
) -> dict[str, Any]:
    phase = _phase(meter, lambda: post_batches(base, batches, clients=CLIENTS, sticky=True, pool=pool))
    accepted = phase["accepted"]
    cpu = phase["cpu_seconds"]
    phase["events_per_second"] = round(accepted / phase["seconds"])
    phase["events_per_process_cpu_second"] = round(accepted / max(cpu["api"], 1e-9))
    phase["events_per_postgres_cpu_second"] = round(accepted / max(cpu["postgres"], 1e-9))
    # what the floor is compared with on CPU: the API's, PostgreSQL's and the pooler's seconds
    phase["events_per_cpu_second"] = round(
        accepted / max(cpu["api"] + cpu["postgres"] + cpu["pgbouncer"], 1e-9)
    )
    return phase


def _seed_families(dsn: str, terminals: list[Terminal], now: datetime) -> None:
    """A mother with a phone for every pupil (parent id = pupil id) and an installed pass whose phone
    secret is `pass-<pupil id>`."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY parents (id, iin, full_name, phone, language) FROM STDIN") as copy:
            for t in terminals:
                for p in t.vouchers:
                    copy.write_row((p, f"9{p:011d}", f"Parent {p}", f"+7700{p:07d}", "ru"))
        with cur.copy("COPY guardianships (pupil_id, parent_id, role) FROM STDIN") as copy:
            for t in terminals:
                for p in t.vouchers:
                    copy.write_row((p, p, "mother"))
        with cur.copy(
            "COPY pupil_passes (voucher_id, school_id, parent_id, created_at, link_hash, link_expires_at,"
            " installed_at, device_hash, refreshes) FROM STDIN"
        ) as copy:
            for t in terminals:
                for p in t.vouchers:
                    copy.write_row((p, t.school_id, p, now, hashlib.sha256(f"link-{p}".encode()).digest(),
                                    now, now, hashlib.sha256(_pass(p).encode()).digest(), 0))  # fmt: skip
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")  # as a live database has its statistics: plans for its real sizes


def _pass(pupil: int) -> str:
    return f"pass-{pupil}"


def _parent_tokens(url: str, parents: list[int], now: datetime) -> dict[int, str]:
    factory = make_session_factory(make_engine(url))
    with UnitOfWork(factory) as uow:
        tokens = {
            p: open_session(uow.session, kind="parent", subject_id=p, now=now, ttl=timedelta(days=1))
            for p in parents
        }
        uow.commit()
    return tokens


def _admin_token(url: str, now: datetime) -> str:
    with UnitOfWork(make_session_factory(make_engine(url))) as uow:
        _, token = make_admin(uow.session, Role.DISTRICT_ADMIN, district="Scale", now=now)
        uow.commit()
    return token


def _notice_pass(settings: Settings) -> Run:
    """The worker's notice pass, NOTICE_PASSES times (each takes up to a delivery batch of the meal
    outbox); each pass is one "request"."""
    ctx = build_context(settings)
    run = Run()
    start = time.perf_counter()
    for _ in range(NOTICE_PASSES):
        t0 = time.perf_counter()
        got = deliver_notices(ctx)
        run.latencies.append(time.perf_counter() - t0)
        for k, v in got.items():
            run.totals[k] = run.totals.get(k, 0) + v
        if got["notices"] == 0:
            break
    run.seconds = time.perf_counter() - start
    ctx.engine.dispose()
    return run


def _floor(url: str, rows_sql: str, meter: Meter) -> dict[str, Any]:
    """Rows/s of the ingest statement alone: copy the served rows out, insert them back in batches;
    and rows per CPU-second of this process and PostgreSQL together (the wall rate of a busy machine
    wanders, the CPU each row costs much less)."""
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
        a = meter.snapshot()
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            chunk = rows[i : i + BATCH]
            arrays = [
                [r[k] if cols[k] != "flags" else json.dumps(r[k]) for r in chunk] for k in range(len(cols))
            ]
            conn.execute(sql, arrays, binary=True).fetchall()
            conn.commit()
        seconds = time.perf_counter() - start
        cpu = meter.delta(a, meter.snapshot())
    return {
        "rows": len(rows),
        "rows_per_second": round(len(rows) / seconds),
        "cpu_seconds": {"client": round(cpu["bench"], 2), "postgres": round(cpu["postgres"], 2)},
        "rows_per_cpu_second": round(len(rows) / max(cpu["bench"] + cpu["postgres"], 1e-9)),
    }


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


def _processes(rate: float, per_process: float) -> int:
    return max(1, math.ceil(rate / max(per_process, 1e-9)))


def _country(phases: dict[str, dict[str, Any]], month_end: dict[str, Any]) -> dict[str, Any]:
    """The whole country from the per-process rates: processes = ceil(rate / per CPU-second), database
    cores = Σ rate / per PostgreSQL CPU-second over what can run at once (lunch uploads and notices)."""
    lunch, passes, notices = phases["lunch"], phases["morning_passes"], phases["notices"]
    histories, report = phases["histories"], phases["daily_report"]
    events_per_api_s = lunch["events_per_process_cpu_second"]
    events_per_pg_s = lunch["events_per_postgres_cpu_second"]
    notices_per_worker_s = notices["notices_per_process_cpu_second"]
    notices_per_pg_s = notices["notices_per_postgres_cpu_second"]
    return {
        "rates": {
            "lunch_events_per_second": LUNCH_PEAK,
            "pass_refreshes_per_second": round(PASS_PEAK),
            "histories_per_second": round(HISTORY_PEAK),
            "notices_per_second": NOTICE_PEAK,
        },
        "api_processes": {
            "lunch": _processes(LUNCH_PEAK, events_per_api_s),
            "morning_passes": _processes(PASS_PEAK, passes["per_process_cpu_second"]),
            "histories_at_lunch": _processes(HISTORY_PEAK, histories["per_process_cpu_second"]),
        },
        "worker_processes": _processes(NOTICE_PEAK, notices_per_worker_s),
        "database_cores": {
            "morning": round(PASS_PEAK / max(passes["per_postgres_cpu_second"], 1e-9), 2),
            "lunch": round(
                LUNCH_PEAK / max(events_per_pg_s, 1e-9)
                + NOTICE_PEAK / max(notices_per_pg_s, 1e-9)
                + HISTORY_PEAK / max(histories["per_postgres_cpu_second"], 1e-9),
                2,
            ),
        },
        "formula": "processes = ceil(rate / requests per process CPU-second); database cores = sum over what "
        "runs at once of rate / requests per PostgreSQL CPU-second; daily report and month end = per-school time "
        "x 7,000 (partition-local, so it does not grow with the months kept)",
        "daily_report_all_schools_seconds": round(7000 * report["latency_ms"]["p50"] / 1000, 1),
        "month_end_all_schools_seconds": round(month_end["month_end_all_schools_seconds"] * SCALE, 0),
    }


def main(results_dir: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="sm-national-"))
    cluster: Cluster | None = None
    server: Server | None = None
    try:
        cluster = start_cluster(root)
        url = cluster.primary.url()
        init_schema(url)
        now = datetime.now(UTC)
        with UnitOfWork(make_session_factory(make_engine(url))) as uow:
            maintain(uow, now)
        dsn = cluster.primary.dsn()
        terminals = seed_schools(dsn, SCHOOLS, PUPILS)
        _seed_families(dsn, terminals, now)
        with psycopg.connect(dsn) as conn:  # breakfast 08:00-09:00 beside lunch 11:00-13:00
            for t in terminals:
                conn.execute(
                    "INSERT INTO meal_slots (school_id, slot, start_minute, end_minute) VALUES (%s, 2, 480, 540)",
                    (t.school_id,),
                )
        pupils = [p for t in terminals for p in t.vouchers]
        readers = pupils[::HISTORY_SAMPLE_EVERY]
        parent_tokens = _parent_tokens(url, readers, now)
        admin = _admin_token(url, now)
        days = school_days(2)
        breakfast = [
            (t, body)
            for t in terminals
            for body, _ in meal_batches(t, days[-1:], BATCH, local_hour=8, slot=2)
        ]
        work: list[tuple[Terminal, bytes]] = []
        for t in terminals:
            mine = days if t.terminal_id % OFFLINE_EVERY == 0 else days[-1:]
            work += [(t, body) for body, _ in meal_batches(t, mine, BATCH)]
        cluster.wait_replayed()
        keys = root / "keys"  # removed with the cluster's directory
        settings = Settings(
            database_url=cluster.bouncer_url(),
            replica_url=cluster.replica.url(),
            db_prepared_statements=False,
            db_pre_ping=False,
            key_dir=keys,
        )
        env = {
            "SM_DATABASE_URL": settings.database_url,
            "SM_REPLICA_URL": cluster.replica.url(),
            "SM_DB_PREPARED": "0",
            "SM_DB_PRE_PING": "0",
            "SM_KEY_DIR": str(keys),
        }
        # a balancer's kept upstream connections
        server = start_server(env, workers=WORKERS, options=("--timeout-keep-alive", "120"))
        base = server.base
        meter = Meter(cluster, server.proc.pid)
        phases: dict[str, dict[str, Any]] = {}

        phases["morning_passes"] = _phase(
            meter,
            lambda: drive(
                base,
                pupils[::PASS_SAMPLE_EVERY],
                lambda c, p: c.get("/pass/data.json", headers={"Cookie": f"sm_device={_pass(p)}"}),
                clients=CLIENTS,
            ),
        )
        # breakfast: each school's first batch of the day reaches a process that holds nothing of it;
        # lunch: terminals reach the process that served their breakfast (a balancer's sticky routing)
        # the same kept-alive connections for both: a terminal's thread stays on its process
        pool = [httpx.Client(base_url=base, timeout=120) for _ in range(CLIENTS)]
        for name, batches in (("breakfast", breakfast), ("lunch", work)):
            phases[name] = _upload_phase(meter, base, batches, pool)
        for c in pool:
            c.close()
        lunch = phases["lunch"]
        notices = _phase(meter, lambda: _notice_pass(settings), worker_in_bench=True)
        worker_cpu = notices["cpu_seconds"]["bench"]
        notices["notices_per_process_cpu_second"] = round(notices["notices"] / max(worker_cpu, 1e-9))
        notices["notices_per_postgres_cpu_second"] = round(
            notices["notices"] / max(notices["cpu_seconds"]["postgres"], 1e-9)
        )
        phases["notices"] = notices
        cluster.wait_replayed()
        phases["histories"] = _phase(
            meter,
            lambda: drive(
                base,
                readers,
                lambda c, p: c.get(
                    f"/api/parent/v1/vouchers/{p}/meals",
                    headers={"Authorization": f"Bearer {parent_tokens[p]}"},
                ),
                clients=CLIENTS,
                count=lambda r: {"meals_listed": len(r.json())},
            ),
        )
        day = days[-1].isoformat()
        phases["daily_report"] = _phase(
            meter,
            lambda: drive(
                base,
                [t.school_id for t in terminals],
                lambda c, s: c.get(
                    "/api/admin/v1/reports/daily",
                    params={"date": day, "school_id": s},
                    headers={"Authorization": f"Bearer {admin}"},
                ),
                clients=CLIENTS,
            ),
        )
        server.stop()
        server = None
        floor = _floor(cluster.primary.url(), "SELECT * FROM meal_events WHERE slot = 1", meter)
        month = date(now.year, now.month, 1)
        month_end = _month_end(cluster.primary.url(), month)
        result = {
            "scale": f"1/{SCALE}",
            "schools": SCHOOLS,
            "pupils": SCHOOLS * PUPILS,
            "api_processes": WORKERS,
            "clients": CLIENTS,
            "database": "PostgreSQL 15 primary + synchronous streaming replica, PgBouncer transaction pooling",
            "phases": phases,
            "floor_unnest_on_conflict": floor,
            "lunch_share_of_floor": {
                "wall": round(lunch["events_per_second"] / floor["rows_per_second"], 2),
                "cpu": round(lunch["events_per_cpu_second"] / floor["rows_per_cpu_second"], 2),
            },
            "month_end": month_end,
            "country": _country(phases, month_end),
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
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
