"""Server CPU of an allowlist request through the real HTTP server on PostgreSQL: 304 against a full answer.

Writes bench/results/backend_allowlist.json. A fresh database gets one school with VOUCHERS active
vouchers and an enrolled terminal. uvicorn serves `backend.app:create_app` (2 workers, as in production)
and one client thread asks REQUESTS times for (a) the bundle with the current ETag (304), (b) the bundle
unconditionally (an unchanged 200 from the stored bytes), (c) the bundle after a voucher write each time
(rebuilt, re-signed), (d) an unknown path (FastAPI tries every route before its 404: the app's routing
floor), and (e) the 304 from bench/bare_304.py, the same answer with no token check, no read and no
FastAPI: the HTTP server's floor under the 304, in the same run. CPU is read from /proc for the uvicorn processes (supervisor, workers, each counted
once) and for the PostgreSQL backends serving this database, before and after each series, so "server
CPU per request" is measured, not inferred from latency. The same processes' idle CPU (uvicorn's
ticks and health checks) is measured over IDLE_S seconds with no request, and each series also
reports what that idle rate adds over its own wall time, and its CPU less that. The same series is run on the plain asyncio loop with h11 (uvicorn without its
fast extras) to show the keep-alive stall: there the listening socket has no TCP_NODELAY, and a response
written as headers, then body, waits for the client's delayed ACK.

The servers run with the terminal map on (SM_ALLOWLIST_MAP_SECONDS, 1 s by default: a 304 answered from
the process's map, backend/fleet/terminal_map.py). The 304 is also measured A/B in the same run: a server
with the map off (every 304 reads the terminal and its school's counter, the path before the map) and one
with it on, side by side, their series interleaved AB_ROUNDS times; the min and median of the runs are
reported.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from backend.config import Settings
from backend.db import init_schema
from shared_crypto import DeviceAuth, SigningKey, sign_device_auth

from .serving import cpu_seconds, fresh_database, pg_backends, start_server

VOUCHERS = 2000
REQUESTS = 400
WARMUP = 20  # requests of the series' own kind first, not counted
IDLE_S = 5.0  # seconds the idle servers' CPU is read over
AB_ROUNDS = 3  # the 304 with the terminal map off and on, interleaved
AB_REQUESTS = 2000
PATH = "/api/terminal/v1/allowlist"
FLOOR = "/no-such-path"  # routing and a JSON 404 only: what any request costs this server


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


def _series(
    base: str,
    key: SigningKey,
    api: list[int],
    pg: Callable[[], list[int]],
    *,
    fresh: bool,
    mode: str,
    dsn: str,
    idle_cpu_per_s: float,
    requests: int = REQUESTS,
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
        for _ in range(WARMUP):  # both workers and their pooled connections warm for this very request
            kept.get(FLOOR if mode == "floor" else PATH, headers=headers(etag if mode == "304" else None))
        backends = pg()
        api0, pg0 = cpu_seconds(api), cpu_seconds(backends)
        t_start = time.perf_counter()
        for i in range(requests):
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
        api_cpu, pg_cpu = cpu_seconds(api) - api0, cpu_seconds(backends) - pg0
        idle = idle_cpu_per_s * (time.perf_counter() - t_start)  # what the servers burn with no request
    return {
        "api_cpu_ms_per_request": round(api_cpu / requests * 1000, 3),
        "api_idle_cpu_ms_per_request": round(idle / requests * 1000, 3),
        "api_cpu_ms_per_request_less_idle": round((api_cpu - idle) / requests * 1000, 3),
        "postgres_cpu_ms_per_request": round(pg_cpu / requests * 1000, 3),
        "latency_median_ms": round(statistics.median(latencies) * 1000, 2),
        "latency_p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 2),
    }


def _idle_cpu_per_s(pids: list[int]) -> float:
    """CPU seconds per second these processes use while no request comes."""
    cpu0, t0 = cpu_seconds(pids), time.perf_counter()
    time.sleep(IDLE_S)
    return (cpu_seconds(pids) - cpu0) / (time.perf_counter() - t0)


def _bare_floor(key: SigningKey, dsn: str, url: str) -> dict[str, float]:
    """The 304 series against bench/bare_304.py, the same answer with no token check and no read: what
    uvicorn, the connection and the client cost it (the same request bytes are sent)."""
    server = start_server({}, probe=PATH, factory="bench.bare_304:create_app")
    try:
        api = server.pids()
        idle = _idle_cpu_per_s(api)
        return _series(
            server.base,
            key,
            api,
            lambda: pg_backends(url),
            fresh=False,
            mode="304",
            dsn=dsn,
            idle_cpu_per_s=idle,
        )
    finally:
        server.stop()


def _map_ab(key: SigningKey, dsn: str, url: str, keydir: str) -> dict[str, Any]:
    """The 304 with the terminal map off (every 304 reads the terminal and its school's counter: the
    path before the map) and on (the default), two servers side by side, their series interleaved
    AB_ROUNDS times with AB_REQUESTS each (CPU is read in clock ticks: more requests, finer figures)."""
    env = {"SM_DATABASE_URL": url, "SM_KEY_DIR": keydir}
    variants = {"map_off_database_read": {"SM_ALLOWLIST_MAP_SECONDS": "0"}, "map_on": {}}
    servers = {name: start_server({**env, **extra}, probe=FLOOR) for name, extra in variants.items()}
    try:
        idle = {name: _idle_cpu_per_s(s.pids()) for name, s in servers.items()}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        for i in range(AB_ROUNDS):
            order = list(servers) if i % 2 == 0 else list(reversed(servers))
            for name in order:
                s = servers[name]
                runs[name].append(
                    _series(s.base, key, s.pids(), lambda: pg_backends(url), fresh=False, mode="304", dsn=dsn,
                            idle_cpu_per_s=idle[name], requests=AB_REQUESTS)
                )  # fmt: skip
    finally:
        for s in servers.values():
            s.stop()
    out: dict[str, Any] = {"rounds": AB_ROUNDS, "requests_per_series": AB_REQUESTS}
    for name, series in runs.items():
        cpu = [r["api_cpu_ms_per_request"] for r in series]
        out[name] = {
            "api_cpu_ms_per_request_runs": cpu,
            "api_cpu_ms_per_request_min": min(cpu),
            "api_cpu_ms_per_request_median": statistics.median(cpu),
            "postgres_cpu_ms_per_request_median": statistics.median(r["postgres_cpu_ms_per_request"] for r in series),
            "latency_median_ms_median": statistics.median(r["latency_median_ms"] for r in series),
            "idle_api_cpu_ms_per_s": round(idle[name] * 1000, 2),
        }  # fmt: skip
    out["map_on_to_off_api_cpu_min"] = round(
        out["map_on"]["api_cpu_ms_per_request_min"]
        / out["map_off_database_read"]["api_cpu_ms_per_request_min"],
        3,
    )
    return out


def main(results_dir: Path) -> None:
    db = fresh_database("sm_bench_allowlist")
    if db is None:
        raise RuntimeError("PostgreSQL unreachable")
    url, drop = db
    dsn = url.replace("+psycopg", "")
    result: dict[str, Any] = {
        "vouchers": VOUCHERS,
        "requests_per_series": REQUESTS,
        "uvicorn_workers": 2,
        "terminal_map_seconds": Settings().allowlist_map_seconds,  # the servers' default, but in the A/B
    }
    try:
        init_schema(url)
        key = SigningKey.generate()
        _load(dsn, key)
        with tempfile.TemporaryDirectory() as keydir:
            for label, fast in (("uvloop_httptools", True), ("asyncio_h11", False)):
                server = start_server({"SM_DATABASE_URL": url, "SM_KEY_DIR": keydir}, fast=fast, probe=FLOOR)
                base = server.base
                try:
                    api = server.pids()
                    idle = _idle_cpu_per_s(api)

                    def backends() -> list[int]:
                        return pg_backends(url)

                    series = functools.partial(
                        _series, base, key, api, backends, dsn=dsn, idle_cpu_per_s=idle
                    )
                    runs: dict[str, Any] = {
                        "idle_api_cpu_ms_per_s": round(idle * 1000, 2),
                        "floor_404": series(fresh=False, mode="floor"),
                        "not_modified_304": series(fresh=False, mode="304"),
                        "unchanged_200_kept_alive": series(fresh=False, mode="200"),
                        "unchanged_200_fresh_connection": series(fresh=True, mode="200"),
                        "changed_200_rebuilt_and_signed": series(fresh=False, mode="changed"),
                    }  # fmt: skip
                finally:
                    server.stop()
                if fast:
                    runs["server_floor_bare_304"] = _bare_floor(key, dsn, url)
                    runs["api_cpu_ms_304_above_server_floor"] = round(
                        runs["not_modified_304"]["api_cpu_ms_per_request"]
                        - runs["server_floor_bare_304"]["api_cpu_ms_per_request"],
                        2,
                    )
                cpu = {k: v["api_cpu_ms_per_request"] for k, v in runs.items() if isinstance(v, dict)}
                runs["ratio_304_to_rebuilt_api_cpu"] = round(cpu["not_modified_304"] / max(cpu["changed_200_rebuilt_and_signed"], 0.01), 3)  # fmt: skip
                runs["api_cpu_ms_304_above_floor"] = round(cpu["not_modified_304"] - cpu["floor_404"], 2)
                runs["kept_alive_to_fresh_latency"] = round(
                    runs["unchanged_200_kept_alive"]["latency_median_ms"]
                    / runs["unchanged_200_fresh_connection"]["latency_median_ms"],
                    3,
                )
                result[label] = runs
            result["not_modified_304_terminal_map_ab"] = _map_ab(key, dsn, url, keydir)
        result["goal_304_api_cpu_ms"] = 1.0
        fast_runs = result["uvloop_httptools"]
        ab = result["not_modified_304_terminal_map_ab"]
        result["meets_goal"] = ab["map_on"]["api_cpu_ms_per_request_min"] < 1.0
        result["meets_goal_above_floor"] = fast_runs["api_cpu_ms_304_above_floor"] < 1.0
        result["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
        result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
        (results_dir / "backend_allowlist.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        drop()


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
