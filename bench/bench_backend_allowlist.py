"""Server CPU of an allowlist request through the real HTTP server on PostgreSQL: 304 against a full answer.

Writes bench/results/backend_allowlist.json. A fresh database gets one school with VOUCHERS active
vouchers and an enrolled terminal. uvicorn serves `backend.app:create_app` (2 workers, as in production)
and one client thread asks REQUESTS times for (a) the bundle with the current ETag (304), (b) the bundle
unconditionally (an unchanged 200 from the stored bytes), (c) the bundle after a voucher write each time
(rebuilt, re-signed), and (d) an unknown path, the floor any request costs this server in the same run. CPU is read from /proc for the uvicorn workers and for the PostgreSQL backends
serving this database, before and after each series, so "server CPU per request" is measured, not
inferred from latency. The same series is run on the plain asyncio loop with h11 (uvicorn without its
fast extras) to show the keep-alive stall: there the listening socket has no TCP_NODELAY, and a response
written as headers, then body, waits for the client's delayed ACK.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from backend.db import init_schema
from shared_crypto import DeviceAuth, SigningKey, sign_device_auth

from .bench_backend_ingest import DEFAULT_PG, _free_port, _wait_up

VOUCHERS = 2000
REQUESTS = 200
PATH = "/api/terminal/v1/allowlist"
FLOOR = "/no-such-path"  # routing and a JSON 404 only: what any request costs this server
TICK = os.sysconf("SC_CLK_TCK")


def _load(dsn: str, key: SigningKey) -> None:
    enrolled = datetime.now(UTC) - timedelta(days=30)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO schools (id, bin, name, region, district) VALUES (1, '1', 'S', 'A', 'D')")
        cur.execute(
            "INSERT INTO meal_slots (school_id, slot, start_minute, end_minute) VALUES (1, 1, 660, 780)"
        )
        cur.execute(
            "INSERT INTO terminals (id, school_id, canteen_id, public_key, kid, hostname, status, software_version,"
            " backlog, faults, enrolled_at) VALUES (1, 1, 1, %s, %s, 'bench', 'active', '1', 0, '[]', %s)",
            (key.public.raw, key.kid, enrolled),
        )  # fmt: skip
        with cur.copy(
            "COPY pupils (id, iin, full_name, grade, class_name, school_id, pseudonym, display) FROM STDIN"
        ) as c:
            for p in range(1, VOUCHERS + 1):
                c.write_row((p, f"{p:012d}", f"Pupil {p}", 3, "3A", 1, p.to_bytes(16, "big"), "P. 3A"))
        with cur.copy("COPY vouchers (id, pupil_id, school_id, school_year, plan, status, valid_until, min_serial,"
                      " next_serial, updated_at) FROM STDIN") as c:  # fmt: skip
            for p in range(1, VOUCHERS + 1):
                c.write_row((p, p, 1, 2026, 1, "active", date(2027, 5, 31), 0, 1, enrolled))
        conn.commit()


def _cpu(pids: list[int]) -> float:
    """utime + stime of these processes, seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _pg_backends(dsn: str, db: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (db,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def _series(
    base: str,
    key: SigningKey,
    api: list[int],
    pg: Callable[[], list[int]],
    *,
    fresh: bool,
    mode: str,
    dsn: str,
) -> dict[str, float]:
    def headers(etag: str | None) -> dict[str, str]:
        token = sign_device_auth(key, DeviceAuth(1, f"GET {PATH}", int(time.time())))
        h = {"X-SW-Device-Auth": token, "Accept-Encoding": "gzip"}
        if etag:
            h["If-None-Match"] = etag
        return h

    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as kept, psycopg.connect(dsn, autocommit=True) as writer:
        etag = kept.get(PATH, headers=headers(None)).headers["ETag"]
        kept.get(PATH, headers=headers(etag))  # every pooled connection warm
        backends = pg()
        api0, pg0 = _cpu(api), _cpu(backends)
        for i in range(REQUESTS):
            if mode == "changed":
                writer.execute("UPDATE vouchers SET min_serial = %s WHERE id = 1", (i + 1,))
            h = headers(etag if mode == "304" else None)
            t0 = time.perf_counter()
            if fresh:
                with httpx.Client(base_url=base, timeout=30) as once:
                    r = once.get(PATH, headers=h)
            else:
                r = kept.get(FLOOR if mode == "floor" else PATH, headers=h)
            latencies.append(time.perf_counter() - t0)
            assert r.status_code == {"304": 304, "floor": 404}.get(mode, 200), r.status_code
        api_cpu, pg_cpu = _cpu(api) - api0, _cpu(backends) - pg0
    return {
        "api_cpu_ms_per_request": round(api_cpu / REQUESTS * 1000, 2),
        "postgres_cpu_ms_per_request": round(pg_cpu / REQUESTS * 1000, 2),
        "latency_median_ms": round(statistics.median(latencies) * 1000, 2),
        "latency_p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 2),
    }


def _server(url: str, keydir: str, fast: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    extra = ["--loop", "uvloop", "--http", "httptools"] if fast else ["--loop", "asyncio", "--http", "h11"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "backend.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "2", "--log-level", "warning", "--no-access-log", *extra],
        env={**os.environ, "SM_DATABASE_URL": url, "SM_KEY_DIR": keydir},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    _wait_up(base, proc)
    return proc, base


def main(results_dir: Path) -> None:
    pg = os.environ.get("SM_TEST_POSTGRES_URL", DEFAULT_PG)
    admin_dsn = pg.replace("+psycopg", "")
    name = f"sm_bench_allowlist_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg.rsplit('/', 1)[0]}/{name}"
    dsn = url.replace("+psycopg", "")
    result: dict[str, Any] = {"vouchers": VOUCHERS, "requests_per_series": REQUESTS, "uvicorn_workers": 2}
    try:
        init_schema(url)
        key = SigningKey.generate()
        _load(dsn, key)
        with tempfile.TemporaryDirectory() as keydir:
            for label, fast in (("uvloop_httptools", True), ("asyncio_h11", False)):
                proc, base = _server(url, keydir, fast)
                try:
                    api = _children(proc.pid)

                    def backends() -> list[int]:
                        return _pg_backends(admin_dsn, name)

                    runs: dict[str, Any] = {
                        "floor_404": _series(base, key, api, backends, fresh=False, mode="floor", dsn=dsn),
                        "not_modified_304": _series(base, key, api, backends, fresh=False, mode="304", dsn=dsn),
                        "unchanged_200_kept_alive": _series(base, key, api, backends, fresh=False, mode="200", dsn=dsn),
                        "unchanged_200_fresh_connection": _series(base, key, api, backends, fresh=True, mode="200", dsn=dsn),
                        "changed_200_rebuilt_and_signed": _series(base, key, api, backends, fresh=False, mode="changed", dsn=dsn),
                    }  # fmt: skip
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
                cpu = {k: v["api_cpu_ms_per_request"] for k, v in runs.items()}
                runs["ratio_304_to_rebuilt_api_cpu"] = round(cpu["not_modified_304"] / max(cpu["changed_200_rebuilt_and_signed"], 0.01), 3)  # fmt: skip
                runs["api_cpu_ms_304_above_floor"] = round(cpu["not_modified_304"] - cpu["floor_404"], 2)
                result[label] = runs
        result["goal_304_api_cpu_ms"] = 1.0
        fast = result["uvloop_httptools"]
        result["meets_goal"] = fast["not_modified_304"]["api_cpu_ms_per_request"] < 1.0
        result["meets_goal_above_floor"] = fast["api_cpu_ms_304_above_floor"] < 1.0
        result["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
        result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
        (results_dir / "backend_allowlist.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
