"""A district month in PostgreSQL: time to produce every school's timesheet and act from ~1,000,000 meal events.

Writes bench/results/backend_reporting.json. Synthetic data (40 schools, 22,800 pupils, breakfast and
lunch on each of September 2026's 22 school days, 30 % discounted plan, 1 % flagged) is bulk-loaded with
COPY into a fresh database; the measured step is `billing.services.timesheets` + `produce_acts` for the
whole district (aggregates in SQL, priced and stored in Python), with a reconciliation check after it.
Goal: under 10 s for the production step.
"""

from __future__ import annotations

import json
import os
import platform
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import psycopg

from backend.billing import services
from backend.billing.model import month_days
from backend.clock import KZ_TZ
from backend.db import init_schema, make_engine, make_session_factory

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHOOLS = 40
PUPILS_PER_SCHOOL = 570
MONTH = date(2026, 9, 1)
GOAL_S = 10.0
OK_TAIL = "ok\t[]\n"
FLAGGED_TAIL = 'flagged\t["DOUBLE_MEAL"]\n'
REPEATS = 3


def _load(dsn: str) -> int:
    """Schools, suppliers, pupils, vouchers, terminals, tariffs, then the events by COPY. Returns the event count."""
    days = [d for d in month_days(MONTH) if d.weekday() < 5]
    enrolled = datetime(2026, 8, 20, tzinfo=KZ_TZ)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO suppliers (id, bin, name) VALUES (1, '990000000001', 'Bench supplier')")
        cur.executemany(
            "INSERT INTO schools (id, bin, name, region, district, supplier_id) VALUES (%s, %s, %s, 'Almaty', 'Bench', 1)",
            [(s, f"{s:012d}", f"School {s}") for s in range(1, SCHOOLS + 1)],
        )
        cur.executemany(
            "INSERT INTO terminals (id, school_id, canteen_id, public_key, kid, hostname, status, software_version,"
            " backlog, faults, enrolled_at) VALUES (%s, %s, 1, %s, %s, '', 'active', '', 0, '[]', %s)",
            [(s, s, bytes(32), s.to_bytes(8, "big"), enrolled) for s in range(1, SCHOOLS + 1)],
        )
        cur.executemany(
            "INSERT INTO tariffs (school_id, plan, slot, valid_from, amount_tiyn, state_share_tiyn)"
            " VALUES (NULL, %s, %s, %s, %s, %s)",
            [
                (1, 1, date(2026, 9, 1), 45_000, 45_000),
                (2, 1, date(2026, 9, 1), 45_000, 27_000),
                (1, 2, date(2026, 9, 1), 80_050, 80_050),
                (2, 2, date(2026, 9, 1), 80_050, 50_000),
                (1, 2, date(2026, 9, 15), 82_000, 82_000),  # a mid-month change
            ],
        )
        pupils = []
        with cur.copy(
            "COPY pupils (id, iin, full_name, grade, class_name, school_id, pseudonym, display) FROM STDIN"
        ) as cp:
            for s in range(1, SCHOOLS + 1):
                for k in range(PUPILS_PER_SCHOOL):
                    pid = (s - 1) * PUPILS_PER_SCHOOL + k + 1
                    grade = 1 + k % 11
                    cp.write_row(
                        (
                            pid,
                            f"{pid:012d}",
                            f"Pupil {pid}",
                            grade,
                            f"{grade}A",
                            s,
                            pid.to_bytes(16, "big"),
                            f"P.{pid}",
                        )
                    )
                    pupils.append((pid, s, 2 if k % 10 < 3 else 1))
        with cur.copy(
            "COPY vouchers (id, pupil_id, school_id, school_year, plan, status, valid_until, min_serial,"
            " next_serial, updated_at) FROM STDIN"
        ) as cp:
            for pid, s, plan in pupils:
                cp.write_row((pid, pid, s, 2026, plan, "active", date(2027, 5, 31), 0, 1, enrolled))
        n = 0
        cols = (
            "id, terminal_id, school_id, voucher_id, pupil_id, plan, slot, served_at, local_date, method,"
            " token_serial, wall_trusted, boot_id, seq, received_at, status, flags"
        )
        boot = "\\\\x" + "00" * 16
        # Bulk-load practice: foreign-key triggers off for this session (the synthetic rows are consistent;
        # needs a superuser, as the test server's postgres is), secondary indexes built after the load.
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'meal_events' AND indexname <> 'pk_meal_events'"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        # COPY text format written as lines (write_row adapts each value in Python: several times slower)
        with cur.copy(f"COPY meal_events ({cols}) FROM STDIN") as cp:
            for day in days:
                for slot, at in ((1, dtime(9, 0)), (2, dtime(12, 30))):
                    served = datetime.combine(day, at, KZ_TZ).isoformat()
                    received = (datetime.combine(day, at, KZ_TZ) + timedelta(minutes=10)).isoformat()
                    lines = []
                    for pid, s, plan in pupils:
                        n += 1
                        tail = FLAGGED_TAIL if n % 100 == 0 else OK_TAIL
                        lines.append(
                            f"\\\\x{uuid.uuid4().hex}\t{s}\t{s}\t{pid}\t{pid}\t{plan}\t{slot}\t{served}\t{day}"
                            f"\t1\t1\tt\t{boot}\t{n}\t{received}\t{tail}"
                        )
                    cp.write("".join(lines))
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("ANALYZE")
        conn.commit()
    return n


def main(results_dir: Path) -> None:
    base = os.environ.get("SM_TEST_POSTGRES_URL", DEFAULT_PG)
    admin = base.replace("+psycopg", "")
    name = f"sm_bench_rep_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base.rsplit('/', 1)[0]}/{name}"
    try:
        init_schema(url)
        t0 = time.perf_counter()
        events = _load(url.replace("+psycopg", ""))
        load_s = time.perf_counter() - t0
        engine = make_engine(url)
        factory = make_session_factory(engine)
        school_ids = list(range(1, SCHOOLS + 1))
        now = datetime(2026, 10, 2, 9, tzinfo=KZ_TZ)
        runs = []
        for _ in range(REPEATS):
            with factory() as session:
                t0 = time.perf_counter()
                sheets = services.timesheets(session, school_ids, MONTH, names_shown=True)
                t1 = time.perf_counter()
                acts = services.produce_acts(session, school_ids, MONTH, now)
                session.commit()
                t2 = time.perf_counter()
            runs.append((t2 - t0, t1 - t0, t2 - t1))
        with factory() as session:
            t0 = time.perf_counter()
            rec = services.reconcile_month(session, 1, MONTH)
            reconcile_s = time.perf_counter() - t0
        engine.dispose()
        best = min(runs)
        billable = sum(ts.total for ts in sheets.values())
        assert billable == sum(v.act.meals for v in acts.values()), "timesheet and act disagree"
        assert rec.ok, rec.problems
        result = {
            "what": "district month: every school's timesheet + act of completed work from meal_events (PostgreSQL)",
            "events": events,
            "billable_events": billable,
            "schools": SCHOOLS,
            "pupils": SCHOOLS * PUPILS_PER_SCHOOL,
            "timesheet_cells": sum(len(r.cells) for ts in sheets.values() for r in ts.rows),
            "amount_tiyn": sum(v.act.amount_tiyn for v in acts.values()),
            "production_s": round(best[0], 3),
            "timesheets_s": round(best[1], 3),
            "acts_s": round(best[2], 3),
            "runs_s": [round(r[0], 3) for r in runs],
            "reconcile_one_school_s": round(reconcile_s, 3),
            "bulk_load_s": round(load_s, 1),
            "goal_s": GOAL_S,
            "goal_met": best[0] < GOAL_S,
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
        }
        print(json.dumps(result, indent=1))
        (results_dir / "backend_reporting.json").write_text(json.dumps(result, indent=1) + "\n")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
