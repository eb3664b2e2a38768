"""Console figures: each staff role's main pages on a district of 100,000 pupils, through the real server
(uvicorn in its own process) on PostgreSQL.

Writes bench/results/console.json.

Set-up (timed, not measured as pages): a fresh PostgreSQL database migrated to head with its meal
partitions; SCHOOLS schools × PUPILS pupils with their vouchers and a terminal each
(`tests.scale.seed.seed_schools`, as the national bench), then set-based SQL for the rest: pupils spread
over grades 1–11 and four classes, one parent each, suppliers serving SUPPLIER_SCHOOLS schools each by
dated links, tariffs, each voucher's activation in its history, every school day from the 1st of last
month to today with one lunch per voucher (1 % flagged, with their flags), ratings and complaints, last
month's list checked with its consent requests and SMS, this month's list in draft with every pupil,
consent follow-ups, and staff accounts for every school. Seeding takes about a minute.

Measured: one client signs in through the sign-in form as each role (district admin, head, pedagogue,
supplier, canteen staff) and requests each of the role's pages WARMUP times (not counted: the first
visit of the acts stores them, pools fill, templates compile), then N times in turn. Per page: p50 and
p99 wall time and the CPU time of the server (uvicorn's processes and PostgreSQL's backends for the
database) per request. The floor in the same run: the sign-in page and a static file at the start, and
the sign-in page again N times right after each page (the same load as that page's requests), each
page's p50 given as a multiple of that floor. The machine is shared: wall times move with its load
(recorded), server CPU per request much less.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from backend.auth.passwords import hash_password
from backend.clock import local_date
from backend.db import init_schema, make_engine, make_session_factory
from backend.ingest.partitions import maintain
from backend.unit_of_work import UnitOfWork
from tests.scale.seed import seed_schools

from .serving import Server, cpu_seconds, fresh_database, pg_backends, pg_base_url, start_server

SCHOOLS = 200
PUPILS = 500  # per school: 100,000 pupils
SUPPLIER_SCHOOLS = 10  # schools per supplier: 20 suppliers
N = 30
WARMUP = 2
WORKERS = 2
SLOW_P99_MS = 300.0
PASSWORD = "bench-password-2026"
DISTRICT = "Scale"  # seed_schools' district
SCHOOL = 1  # the head's, pedagogue's and canteen's school; supplier 1 serves it
FLAGGED_EVERY = 100


def _school_days(first: date, last: date) -> list[date]:
    return [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + timedelta(days=n)).weekday() < 5
    ]


def _seed(dsn: str, now: datetime) -> dict[str, Any]:
    """Everything but the schools, pupils, vouchers and terminals, in set-based statements."""
    today = local_date(now)
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    days = _school_days(last_month, today)
    digest = hash_password(PASSWORD)
    counts: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:

        def x(sql: str, params: tuple[Any, ...] = ()) -> None:
            cur.execute(sql, params)  # always with parameters: `%%` is the modulo everywhere

        # Bulk-load practice (as the reporting bench): foreign-key triggers off for this session, the rows
        # being consistent by construction (needs a superuser, as the test server's postgres is).
        x("SET session_replication_role = replica")
        x("UPDATE pupils SET grade = 1 + (id %% 100000) %% 11,"
          " class_name = (1 + (id %% 100000) %% 11)::text || (ARRAY['А','Б','В','Г'])[1 + (id %% 100000) / 11 %% 4],"
          " full_name = 'Оқушы ' || id || ' Тестұлы'")  # fmt: skip
        x("UPDATE pupils SET display = left(full_name, 7) || '. ' || class_name")
        x("UPDATE vouchers SET plan = CASE WHEN id %% 10 < 3 THEN 2 ELSE 1 END")
        x("INSERT INTO voucher_events (voucher_id, at, actor, old_status, new_status)"
          " SELECT id, %s::timestamptz + (id %% 500) * interval '1 minute', 'parent', 'awaiting_activation', 'active'"
          " FROM vouchers", (now - timedelta(days=80),))  # fmt: skip
        x("INSERT INTO parents (id, iin, full_name, phone, language)"
          " SELECT id, lpad((id + 500000000000)::text, 12, '0'), 'Ата-ана ' || id,"
          " CASE WHEN id %% 50 = 7 THEN NULL ELSE '+7701' || lpad(id::text, 7, '0') END, 'kk+ru' FROM pupils")  # fmt: skip
        x("INSERT INTO guardianships (pupil_id, parent_id, role)"
          " SELECT id, id, 'mother' FROM pupils WHERE id %% 50 <> 13")  # fmt: skip
        x("INSERT INTO suppliers (id, bin, name, iban, bank_bik, bank_name, district)"
          " SELECT n, lpad((900000000000 + n)::text, 12, '0'), 'Жеткізуші ' || n,"
          " 'KZ' || lpad(n::text, 18, '0'), 'KZKOKZKX', 'Bank', %s FROM generate_series(1, %s) n",
          (DISTRICT, SCHOOLS // SUPPLIER_SCHOOLS))  # fmt: skip
        x("INSERT INTO supplier_links (supplier_id, school_id, valid_from)"
          " SELECT 1 + (id - 1) / %s, id, %s FROM schools", (SUPPLIER_SCHOOLS, date(today.year - (today.month < 9), 9, 1)))  # fmt: skip
        x("UPDATE schools SET supplier_id = 1 + (id - 1) / %s", (SUPPLIER_SCHOOLS,))
        x("INSERT INTO tariffs (school_id, plan, slot, valid_from, amount_tiyn, state_share_tiyn)"
          " VALUES (NULL, 1, 1, %s, 80050, 80050), (NULL, 2, 1, %s, 80050, 50000)", (last_month, last_month))  # fmt: skip
        x("UPDATE terminals SET last_sync = %s, last_seen = %s, clock_offset = 0.2, software_version = '1.4.0'",
          (now - timedelta(minutes=5), now - timedelta(minutes=5)))  # fmt: skip
        x("UPDATE terminals SET last_seen = %s WHERE id %% 40 = 0", (now - timedelta(days=3),))
        # Meals: secondary indexes built after the load, as the reporting bench does.
        x(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'meal_events' AND indexname <> 'pk_meal_events'"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            x(f'DROP INDEX "{name}"')
        x("INSERT INTO meal_events (id, terminal_id, school_id, voucher_id, pupil_id, plan, slot, served_at,"
          " local_date, method, token_serial, wall_trusted, boot_id, seq, received_at, status, flags)"
          " SELECT uuid_send(gen_random_uuid()), v.school_id, v.school_id, v.id, v.pupil_id, v.plan, 1,"
          " (d + time '07:00' + (v.id %% 500) * interval '5 seconds') AT TIME ZONE 'UTC', d, 1, 1, true,"
          " '\\x00000000000000000000000000000000'::bytea, (d - date '2026-01-01') * 1000 + v.id %% 100000,"
          " (d + time '07:30') AT TIME ZONE 'UTC',"
          " CASE WHEN (v.id + d - date '2026-01-01') %% %s = 0 THEN 'flagged' ELSE 'ok' END,"
          " CASE WHEN (v.id + d - date '2026-01-01') %% %s = 0 THEN '[\"DOUBLE_MEAL\"]' ELSE '[]' END::json"
          " FROM vouchers v CROSS JOIN unnest(%s::date[]) d",
          (FLAGGED_EVERY, FLAGGED_EVERY, days))  # fmt: skip
        counts["meal_events"] = cur.rowcount
        for _, definition in indexes:
            x(definition)
        x("INSERT INTO meal_flags (event_id, code, detail) SELECT id, 'DOUBLE_MEAL', 'a second lunch'"
          " FROM meal_events WHERE status = 'flagged'")  # fmt: skip
        counts["flagged"] = cur.rowcount
        x("INSERT INTO meal_ratings (event_id, parent_id, pupil_id, school_id, supplier_id, stars, text, created_at)"
          " SELECT e.id, e.pupil_id, e.pupil_id, e.school_id, 1 + (e.school_id - 1) / %s, 1 + e.seq %% 5,"
          " CASE WHEN e.seq %% 3 = 0 THEN 'Тамақ суық болды' END, e.received_at FROM meal_events e"
          " WHERE e.status = 'ok' AND e.pupil_id %% 100 = 0 AND e.pupil_id IN (SELECT pupil_id FROM guardianships)"
          " AND e.local_date >= %s", (SUPPLIER_SCHOOLS, last_month))  # fmt: skip
        counts["ratings"] = cur.rowcount
        x("INSERT INTO complaints (parent_id, pupil_id, school_id, district, text, status, created_at)"
          " SELECT g.parent_id, g.pupil_id, p.school_id, %s, 'Бала тамақ ала алмады', "
          " (ARRAY['received','forwarded','answered','closed'])[1 + g.pupil_id %% 4], %s"
          " FROM guardianships g JOIN pupils p ON p.id = g.pupil_id WHERE g.pupil_id %% 50 = 0",
          (DISTRICT, now - timedelta(days=2)))  # fmt: skip
        counts["complaints"] = cur.rowcount
        # Staff: a head, a pedagogue and a canteen account for every school, an account per supplier.
        x("INSERT INTO admins (login, password_hash, role, district, active) VALUES ('bench.admin', %s,"
          " 'district_admin', %s, true)", (digest, DISTRICT))  # fmt: skip
        for role in ("school_head", "social_pedagogue", "canteen_staff"):
            x("INSERT INTO admins (login, password_hash, role, district, active)"
              " SELECT %s || '.' || id, %s, %s, %s, true FROM schools", (role, digest, role, DISTRICT))  # fmt: skip
            x("INSERT INTO admin_schools (admin_id, school_id) SELECT a.id, s.id FROM admins a"
              " JOIN schools s ON a.login = %s || '.' || s.id", (role,))  # fmt: skip
        x("INSERT INTO admins (login, password_hash, role, district, active, supplier_id)"
          " SELECT 'supplier.' || id, %s, 'supplier', %s, true, id FROM suppliers", (digest, DISTRICT))  # fmt: skip
        x("SELECT id FROM admins WHERE login = 'bench.admin'")
        admin_id = cur.fetchone()[0]  # type: ignore[index]
        x("SELECT id FROM admins WHERE login = %s", (f"social_pedagogue.{SCHOOL}",))
        pedagogue_id = cur.fetchone()[0]  # type: ignore[index]
        x("INSERT INTO import_jobs (kind, filename, district, admin_id, status, total, done, created_at, finished_at)"
          " SELECT 'pupils', 'pupils-' || n || '.csv', %s, %s, 'done', 500, 500, %s, %s FROM generate_series(1, 40) n",
          (DISTRICT, admin_id, now - timedelta(days=20), now - timedelta(days=20)))  # fmt: skip
        # Last month's list: checked, every pupil confirmed, a consent request per linked parent with its SMS.
        x("INSERT INTO eligibility_lists (school_id, month, status, created_by, approved_by, approved_at, checked_at)"
          " SELECT id, %s, 'checked', %s, %s, %s, %s FROM schools",
          (last_month, pedagogue_id, admin_id, now - timedelta(days=40), now - timedelta(days=40)))  # fmt: skip
        x("INSERT INTO eligibility_lists (school_id, month, status, created_by)"
          " SELECT id, %s, 'draft', %s FROM schools", (this_month, pedagogue_id))  # fmt: skip
        for month in (last_month, this_month):
            x("INSERT INTO eligibility_entries (list_id, pupil_id, category, result, reason)"
              " SELECT l.id, p.id, CASE WHEN p.grade > 4 THEN 'targeted_social_assistance' END,"
              " CASE WHEN l.status = 'checked' THEN 'confirmed' END, NULL"
              " FROM pupils p JOIN eligibility_lists l ON l.school_id = p.school_id AND l.month = %s", (month,))  # fmt: skip
        counts["list_entries"] = 2 * SCHOOLS * PUPILS
        x("INSERT INTO consent_requests (list_id, parent_id, phone, status, attempt, sent_at, decided_at)"
          " SELECT l.id, g.parent_id, pa.phone, CASE WHEN g.pupil_id %% 7 = 0 THEN 'pending' ELSE 'agreed' END, 1, %s, %s"
          " FROM guardianships g JOIN parents pa ON pa.id = g.parent_id JOIN pupils p ON p.id = g.pupil_id"
          " JOIN eligibility_lists l ON l.school_id = p.school_id AND l.month = %s"
          " WHERE p.grade > 4 AND pa.phone IS NOT NULL",
          (now - timedelta(days=40), now - timedelta(days=39), last_month))  # fmt: skip
        x("INSERT INTO consent_subjects (request_id, list_id, pupil_id)"
          " SELECT r.id, r.list_id, r.parent_id FROM consent_requests r")  # fmt: skip
        x("INSERT INTO sms_messages (direction, phone, kind, body, status, request_id, created_at, sent_at)"
          " SELECT 'out', r.phone, 'request', 'Тегін ыстық тамаққа келісесіз бе? ИӘ/ЖОҚ деп жауап беріңіз.',"
          " CASE WHEN r.id %% 500 = 0 THEN 'queued' ELSE 'sent' END, r.id, r.sent_at, r.sent_at FROM consent_requests r")  # fmt: skip
        counts["sms"] = cur.rowcount
        x("INSERT INTO consent_issues (list_id, pupil_id, reason, at)"
          " SELECT e.list_id, e.pupil_id, CASE WHEN g.id IS NULL THEN 'UNLINKED' ELSE 'NO_PHONE' END, %s"
          " FROM eligibility_entries e JOIN pupils p ON p.id = e.pupil_id"
          " JOIN eligibility_lists l ON l.id = e.list_id AND l.month = %s"
          " LEFT JOIN guardianships g ON g.pupil_id = p.id LEFT JOIN parents pa ON pa.id = g.parent_id"
          " WHERE p.grade > 4 AND (g.id IS NULL OR pa.phone IS NULL)", (now - timedelta(days=40), last_month))  # fmt: skip
        counts["followups"] = cur.rowcount
        x("SELECT id FROM eligibility_lists WHERE school_id = %s AND month = %s", (SCHOOL, this_month))
        counts["draft_list_id"] = cur.fetchone()[0]  # type: ignore[index]
        x("SET session_replication_role = DEFAULT")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    counts["last_month"] = last_month.isoformat()
    counts["school_days"] = len(days)
    return counts


def _pages(draft_list: int) -> dict[str, list[str]]:
    """Each role's sign-in and its main pages (the menu's, the list and act pages they lead to)."""
    return {
        "bench.admin": [
            "/staff/dashboard",
            "/staff/imports",
            "/staff/accounts",
            "/staff/suppliers",
            "/staff/acts",
            "/staff/acts?flag=overdue",
            "/staff/register",
            "/staff/tariffs",
            "/staff/reask",
            "/staff/revoke",
            "/staff/outbox",
            "/staff/complaints",
            "/staff/followups",
            "/staff/categories",
        ],
        f"school_head.{SCHOOL}": [
            "/staff/lists",
            f"/staff/lists/{draft_list}",
            "/staff/flagged",
            "/staff/terminals",
            "/staff/acts",
            f"/staff/acts/{SCHOOL}",
            "/staff/calendar",
            "/staff/menu",
            "/staff/complaints",
        ],
        f"social_pedagogue.{SCHOOL}": [
            "/staff/lists",
            f"/staff/lists/{draft_list}",
            f"/staff/lists/{draft_list}?q=Оқушы&class=5А",
            "/staff/followups",
            "/staff/timesheet",
        ],
        "supplier.1": ["/staff/acts", f"/staff/acts/{SCHOOL}", "/staff/menu", "/staff/ratings"],
        f"canteen_staff.{SCHOOL}": ["/staff/served"],
    }


CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def _sign_in(client: httpx.Client, login: str) -> None:
    page = client.get("/staff")
    found = CSRF.search(page.text)
    assert found, "no CSRF token on the sign-in page"
    r = client.post("/staff/sign-in", data={"login": login, "password": PASSWORD, "csrf": found.group(1)})
    if r.status_code != 303:
        raise RuntimeError(f"sign-in as {login} refused: {r.status_code}")


def _measure(
    client: httpx.Client, path: str, cpu: Callable[[], float], floor: httpx.Client | None = None
) -> dict[str, Any]:
    for _ in range(WARMUP):
        r = client.get(path)
        if r.status_code != 200:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
    wall: list[float] = []
    cpu0 = cpu()
    for _ in range(N):
        t0 = time.perf_counter()
        r = client.get(path)
        wall.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{path}: {r.status_code}")
    server_cpu = cpu() - cpu0
    ordered = sorted(wall)
    figures: dict[str, Any] = {
        "p50_ms": round(statistics.median(wall), 1),
        "p99_ms": round(ordered[min(N - 1, int(0.99 * N))], 1),
        "server_cpu_ms": round(server_cpu * 1000 / N, 1),
        "bytes": len(r.content),
    }
    if floor is not None:
        # The sign-in page right after, N times: the floor under the same load as this page's requests.
        times = []
        for _ in range(N):
            t0 = time.perf_counter()
            floor.get("/staff").raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
        figures["floor_p50_ms"] = round(statistics.median(times), 1)
        figures["p50_over_floor"] = round(figures["p50_ms"] / max(figures["floor_p50_ms"], 0.1), 1)
    return figures


def main(results_dir: Path) -> None:
    db = fresh_database("sm_bench_console")
    if db is None:
        raise RuntimeError(f"PostgreSQL unreachable at {pg_base_url()}")
    url, drop = db
    server: Server | None = None
    try:
        t0 = time.perf_counter()
        init_schema(url)
        now = datetime.now(UTC)
        engine = make_engine(url)
        with UnitOfWork(make_session_factory(engine)) as uow:
            maintain(uow, now)
        engine.dispose()
        dsn = url.replace("+psycopg", "")
        seed_schools(dsn, SCHOOLS, PUPILS)
        seeded = _seed(dsn, now)
        seed_s = time.perf_counter() - t0
        print(f"seeded in {seed_s:.0f} s: {seeded}", flush=True)
        with tempfile.TemporaryDirectory() as keys:
            env = {"SM_DATABASE_URL": url, "SM_KEY_DIR": keys, "SM_COOKIE_SECURE": "0"}
            server = start_server(env, workers=WORKERS, probe="/staff")
            base = server.base
            api_pids = server.pids()

            def cpu() -> float:
                return cpu_seconds(api_pids) + cpu_seconds(pg_backends(url))

            headers = {"Accept-Language": "kk", "Accept-Encoding": "gzip"}
            pages: dict[str, dict[str, Any]] = {}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as anon:
                floor = {
                    "sign-in page": _measure(anon, "/staff", cpu),
                    "static file": _measure(anon, "/static/console.css", cpu),
                }
                for login, paths in _pages(seeded["draft_list_id"]).items():
                    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                        _sign_in(client, login)
                        role = "district_admin" if login == "bench.admin" else login.split(".")[0]
                        for path in paths:
                            pages[f"{role} {path}"] = _measure(client, path, cpu, anon)
                            print(f"{role:18} {path:40} {pages[f'{role} {path}']}", flush=True)
        result = {
            "what": "staff console pages, one client in turn, through uvicorn on PostgreSQL",
            "schools": SCHOOLS,
            "pupils": SCHOOLS * PUPILS,
            "seeded": seeded,
            "seed_seconds": round(seed_s, 1),
            "requests_per_page": N,
            "uvicorn_workers": WORKERS,
            "slow_p99_ms": SLOW_P99_MS,
            "floor": floor,
            "pages": pages,
            "slow_pages": sorted(k for k, v in pages.items() if v["p99_ms"] > SLOW_P99_MS),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (results_dir / "console.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps(result, indent=2, ensure_ascii=False))
    finally:
        if server is not None:
            server.stop()
        drop()


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
